import { afterEach, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, type Session } from '../../client/src/index.js';
import type { WrtcImpl } from '../../client/src/webrtc.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from './helpers/wait.js';

let server: TestServer | undefined;
let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await server?.close();
  sessions = [];
});

/** The real @roamhq/wrtc, remembering the configuration of every RTCPeerConnection. */
function configCapturingWrtc(): { impl: WrtcImpl; configs: RTCConfiguration[] } {
  const configs: RTCConfiguration[] = [];
  const Base = wrtc.RTCPeerConnection;
  class Capturing extends Base {
    constructor(config?: RTCConfiguration) {
      super(config);
      configs.push(config ?? {});
    }
  }
  return { impl: { ...wrtc, RTCPeerConnection: Capturing }, configs };
}

describe('iceServers on the client', () => {
  it("uses the join option, else the connect option, before the welcome's servers", async () => {
    server = await startServer({ STUN_URLS: 'stun:127.0.0.1:3478' });
    const { impl, configs } = configCapturingWrtc();
    const ours = { urls: 'stun:stun.example.test:3478' };
    const joiner = { urls: 'turn:turn.example.test:3478', username: 'u', credential: 'c' };
    const first = await connect(server.wsUrl, { wrtc: impl });
    const second = await connect(server.wsUrl, { wrtc: impl, iceServers: [ours] });
    sessions.push(first, second);
    await first.join('ice');
    await second.join('ice', { iceServers: [joiner] });
    await waitFor(() => configs.length >= 2, 10_000, 'both peer connections');
    const urls = configs.map((c) => (c.iceServers ?? []).flatMap((s) => s.urls));
    // The later joiner (second) initiates with the join option first; the first answers with the welcome's only.
    expect(urls).toContainEqual(['turn:turn.example.test:3478', 'stun:127.0.0.1:3478']);
    expect(urls).toContainEqual(['stun:127.0.0.1:3478']);
  });
});
