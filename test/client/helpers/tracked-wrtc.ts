import wrtc from '@roamhq/wrtc';
import type { WrtcImpl } from '../../../client/src/webrtc.js';

/**
 * The real @roamhq/wrtc, with every RTCPeerConnection it makes remembered (so a test can close it)
 * and the time it was made (performance.now()).
 */
export function trackedWrtc(): { impl: WrtcImpl; connections: RTCPeerConnection[]; madeAt: number[] } {
  const connections: RTCPeerConnection[] = [];
  const madeAt: number[] = [];
  const Base: typeof RTCPeerConnection = wrtc.RTCPeerConnection;
  class Tracked extends Base {
    constructor(config?: RTCConfiguration) {
      super(config);
      connections.push(this);
      madeAt.push(performance.now());
    }
  }
  return { impl: { ...wrtc, RTCPeerConnection: Tracked }, connections, madeAt };
}
