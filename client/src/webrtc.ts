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
