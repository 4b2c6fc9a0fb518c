/**
 * Finds a WebRTC implementation: the one passed in, the browser's, or @roamhq/wrtc in Node.
 * The dynamic import keeps Node-only code out of browser bundles' static graph.
 */
export interface WrtcImpl {
  RTCPeerConnection: unknown;
  RTCSessionDescription: unknown;
  RTCIceCandidate: unknown;
}

export async function detectWrtc(given?: object): Promise<WrtcImpl | undefined> {
  if (given) return given as WrtcImpl;
  const g = globalThis as Record<string, unknown>;
  if (typeof g.RTCPeerConnection === 'function') {
    return {
      RTCPeerConnection: g.RTCPeerConnection,
      RTCSessionDescription: g.RTCSessionDescription,
      RTCIceCandidate: g.RTCIceCandidate,
    };
  }
  try {
    const name = '@roamhq/wrtc';
    const mod = (await import(/* @vite-ignore */ name)) as { default?: WrtcImpl } & WrtcImpl;
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

type PeerConnectionClass = new (...args: unknown[]) => object;

interface RemoteDescriptionSource {
  readonly remoteDescription: unknown;
  setRemoteDescription(...args: unknown[]): Promise<unknown>;
  addIceCandidate(...args: unknown[]): Promise<unknown>;
}

const wrappedForSimplePeer = new WeakMap<WrtcImpl, WrtcImpl>();

/**
 * The implementation handed to simple-peer. @roamhq/wrtc answers each read of `remoteDescription`
 * with two blocking calls to its signaling thread, each serialising the SDP again (120 µs in an
 * idle process, several times that while ICE runs), and simple-peer reads it twice for every
 * trickled candidate: two Node peers in one process spent 5 ms of each link set-up there. Its
 * connections are wrapped so that the description is read again only when it may have changed: once
 * a remote description is set or a remote candidate added. A browser's connection answers from
 * memory and is handed over as it is.
 */
export function forSimplePeer(impl: WrtcImpl): WrtcImpl {
  const Native = impl.RTCPeerConnection as PeerConnectionClass;
  if (Native === (globalThis as Record<string, unknown>).RTCPeerConnection) return impl;
  let wrapped = wrappedForSimplePeer.get(impl);
  if (!wrapped) {
    wrapped = { ...impl, RTCPeerConnection: rememberingRemoteDescription(Native) };
    wrappedForSimplePeer.set(impl, wrapped);
  }
  return wrapped;
}

/** The remembered description may be out of date: the next read asks the connection. */
const STALE = Symbol('stale');

function rememberingRemoteDescription(Native: PeerConnectionClass): PeerConnectionClass {
  // A constructor that returns the proxy: `new` in simple-peer gets it, and every method the
  // connection has is called through it, as on the connection itself.
  return function RememberingPeerConnection(...args: unknown[]) {
    const connection = new Native(...args) as RemoteDescriptionSource;
    let remembered: unknown = STALE;
    const staleWhenSettled = (change: Promise<unknown>) =>
      change.finally(() => {
        remembered = STALE;
      });
    const setRemoteDescription = (...a: unknown[]) => staleWhenSettled(connection.setRemoteDescription(...a));
    const addIceCandidate = (...a: unknown[]) => staleWhenSettled(connection.addIceCandidate(...a));
    return new Proxy(connection, {
      get(target, key, receiver) {
        if (key === 'remoteDescription') {
          if (remembered === STALE) remembered = target.remoteDescription;
          return remembered;
        }
        if (key === 'setRemoteDescription') return setRemoteDescription;
        if (key === 'addIceCandidate') return addIceCandidate;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  } as unknown as PeerConnectionClass;
}
