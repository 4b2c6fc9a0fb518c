/**
 * Loaded before every test file (vitest setupFiles). @roamhq/wrtc can crash the whole process when
 * the garbage collector finalizes a closed RTCPeerConnection (WonderInventions/node-webrtc#35:
 * `~RTCPeerConnection` in `FinalizeCallback`; here too, a process that made a few dozen connections
 * segfaults when it exits without process.exit). In a vitest worker such a crash is "Worker exited
 * unexpectedly" and the file's results are lost, whatever its tests did. So test processes keep
 * every peer connection they make until they exit: a test file makes a few hundred at most.
 */
import wrtc from '@roamhq/wrtc';

type PeerConnectionClass = new (...args: unknown[]) => object;
const module = wrtc as unknown as { RTCPeerConnection: PeerConnectionClass };
const kept: object[] = [];
const Native = module.RTCPeerConnection;

module.RTCPeerConnection = class KeptPeerConnection extends Native {
  constructor(...args: unknown[]) {
    super(...args);
    kept.push(this);
  }
};
