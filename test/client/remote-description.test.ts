/**
 * forSimplePeer (client/src/webrtc.ts): simple-peer's connections answer `remoteDescription` from
 * what they remember, and ask @roamhq/wrtc again only once a remote description is set or a
 * remote candidate added. Real @roamhq/wrtc and simple-peer; the connections are watched, not
 * replaced: each read that reaches one is counted.
 */
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { afterEach, describe, expect, it } from 'vitest';
import { forSimplePeer, type WrtcImpl } from '../../client/src/webrtc.js';
import { trackedWrtc } from './helpers/tracked-wrtc.js';
import { waitFor } from './helpers/wait.js';

/**
 * The real implementation (trackedWrtc, which keeps the connections it makes), with each read of a
 * connection's remoteDescription counted.
 */
function watched(): { impl: WrtcImpl; connections: RTCPeerConnection[]; reads: () => number } {
  const tracked = trackedWrtc();
  const Tracked = tracked.impl.RTCPeerConnection as typeof RTCPeerConnection;
  let reads = 0;
  function Watched(config?: RTCConfiguration): RTCPeerConnection {
    return new Proxy(new Tracked(config), {
      get(target, key, receiver) {
        if (key === 'remoteDescription') reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  }
  return {
    impl: { ...tracked.impl, RTCPeerConnection: Watched },
    connections: tracked.connections,
    reads: () => reads,
  };
}

let peers: SimplePeer.Instance[] = [];
afterEach(() => {
  for (const peer of peers) peer.destroy();
  peers = [];
});

/** Two simple-peers wired to each other; the answerer's connections come from `answererImpl`. */
async function connectPair(answererImpl: WrtcImpl): Promise<{ candidatesToAnswerer: number }> {
  const offerer = new SimplePeer({ initiator: true, trickle: true, wrtc: wrtc });
  const answerer = new SimplePeer({ trickle: true, wrtc: answererImpl as SimplePeer.Options['wrtc'] });
  peers.push(offerer, answerer);
  let candidatesToAnswerer = 0;
  offerer.on('signal', (signal: SimplePeer.SignalData) => {
    if (signal.type === 'candidate') candidatesToAnswerer++;
    answerer.signal(signal);
  });
  answerer.on('signal', (signal: SimplePeer.SignalData) => offerer.signal(signal));
  const connected = Promise.all([offerer, answerer].map((p) => new Promise((resolve) => p.once('connect', resolve))));
  await connected;
  return { candidatesToAnswerer };
}

describe('forSimplePeer', () => {
  it('reads remoteDescription from the connection once for each change, not twice for each candidate', async () => {
    const plain = watched();
    const plainPair = await connectPair(plain.impl);
    const remembering = watched();
    const rememberingPair = await connectPair(forSimplePeer(remembering.impl));

    // simple-peer asks `remoteDescription && remoteDescription.type` of every candidate it is given.
    expect(plainPair.candidatesToAnswerer).toBeGreaterThan(0);
    expect(plain.reads()).toBeGreaterThanOrEqual(2 * plainPair.candidatesToAnswerer);
    // At most one read per change (the description, then each candidate added), and one before any.
    expect(rememberingPair.candidatesToAnswerer).toBeGreaterThan(0);
    expect(remembering.reads()).toBeLessThanOrEqual(rememberingPair.candidatesToAnswerer + 2);
    expect(remembering.reads()).toBeLessThan(plain.reads());
  });

  it('answers what the connection answers after each description and candidate is applied', async () => {
    const offerer = new wrtc.RTCPeerConnection();
    const source = watched();
    const answerer = new (forSimplePeer(source.impl).RTCPeerConnection as typeof RTCPeerConnection)();
    const connection = source.connections[0]!;
    const candidates: RTCIceCandidate[] = [];
    offerer.onicecandidate = (e) => {
      if (e.candidate) candidates.push(e.candidate);
    };
    try {
      offerer.createDataChannel('check');
      expect(answerer.remoteDescription).toBeNull();
      // The offer as made, before gathering: its candidates come only by addIceCandidate.
      const offer = await offerer.createOffer();
      await offerer.setLocalDescription(offer);
      await waitFor(() => candidates.length > 0, 10_000, 'a candidate of the offerer');

      await answerer.setRemoteDescription(offer);
      expect(answerer.remoteDescription?.type).toBe('offer');
      expect(answerer.remoteDescription?.sdp).toBe(connection.remoteDescription?.sdp);
      const before = answerer.remoteDescription!.sdp;
      await answerer.addIceCandidate(candidates[0]);
      // The added candidate is in the description that is read next, as it is in the connection's.
      expect(answerer.remoteDescription?.sdp).not.toBe(before);
      expect(answerer.remoteDescription?.sdp).toBe(connection.remoteDescription?.sdp);
      // Foundation, component, transport, priority, address and port, as the SDP line has them.
      expect(answerer.remoteDescription?.sdp).toContain(
        `a=${candidates[0]!.candidate.split(' ').slice(0, 6).join(' ')}`,
      );
    } finally {
      offerer.close();
      answerer.close();
    }
  });

  it("hands a browser's own RTCPeerConnection over as it is", () => {
    const global = globalThis as { RTCPeerConnection?: unknown };
    const had = 'RTCPeerConnection' in global;
    const before = global.RTCPeerConnection;
    global.RTCPeerConnection = wrtc.RTCPeerConnection;
    try {
      const browserLike = { ...wrtc } as WrtcImpl;
      expect(forSimplePeer(browserLike)).toBe(browserLike);
    } finally {
      if (had) global.RTCPeerConnection = before;
      else delete global.RTCPeerConnection;
    }
  });
});
