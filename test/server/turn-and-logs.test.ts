/**
 * TURN options (static user, a provider hook) and what the log may hold: real sessions that send
 * tokens, refresh them, join rooms with TURN credentials and signal SDP with candidate addresses,
 * with the server's log captured at debug level and searched for every secret.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import type { StompFrame } from '../../shared/src/stomp/frame.js';
import type { IceServersRequest } from '../../server/src/signaling/turn-credentials.js';
import { ConfigError, loadConfig } from '../../server/src/config.js';
import { rawStomp, startServer, text, wire, type RawStomp, type TestServer } from '../helpers/server.js';

let raws: RawStomp[] = [];
afterEach(() => {
  for (const r of raws) r.close();
  raws = [];
});

async function joined(
  server: TestServer,
  room: string,
  connectHeaders: Record<string, string> = {},
): Promise<{ r: RawStomp; welcome: any; peerId: string }> {
  const r = await rawStomp(server);
  raws.push(r);
  const connected = await r.connect({ 'accept-version': '1.2', host: 'stomprtc', ...connectHeaders });
  expect(connected.command).toBe('CONNECTED');
  r.send(
    wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
      wire('SUBSCRIBE', { id: 'signals', destination: '/user/queue/signal' }) +
      wire('SUBSCRIBE', { id: 'room', destination: `/topic/room/${room}`, receipt: 'joined' }),
  );
  const welcome = await r.nextFrame();
  expect(JSON.parse(text(welcome)).type).toBe('welcome');
  expect((await r.frames.take(2)).map((f: StompFrame) => f.command)).toEqual(['MESSAGE', 'RECEIPT']);
  return { r, welcome: JSON.parse(text(welcome)), peerId: connected.headers['user-name']! };
}

describe('TURN_USERNAME / TURN_CREDENTIAL', () => {
  it('gives every joiner the static TURN user', async () => {
    const server = await startServer({
      STUN_URLS: 'stun:s.test',
      TURN_URLS: 'turn:t.test:3478',
      TURN_USERNAME: 'stomprtc',
      TURN_CREDENTIAL: 'static-pass',
    });
    try {
      const { welcome } = await joined(server, 'static-turn');
      expect(welcome.iceServers).toEqual([
        { urls: ['stun:s.test'] },
        { urls: ['turn:t.test:3478'], username: 'stomprtc', credential: 'static-pass' },
      ]);
    } finally {
      await server.close();
    }
  });

  it('never puts a TURN secret in a configuration error', () => {
    for (const env of [
      { TURN_URLS: 'turn:t.test', TURN_USERNAME: 'u' },
      { TURN_SECRET: 'sekrit-value-1', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'sekrit-value-2' },
    ]) {
      let message = '';
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/TURN_/);
      expect(message).not.toMatch(/sekrit/);
    }
  });
});

describe('a TURN provider hook', () => {
  let server: TestServer;
  const asked: IceServersRequest[] = [];
  let fail = false;
  const lines: string[] = [];
  beforeAll(async () => {
    server = await startServer(
      { STUN_URLS: 'stun:s.test', TURN_URLS: 'turn:t.test', TURN_SECRET: 'configured-secret' },
      {
        logStream: { write: (line) => void lines.push(line) },
        iceServers: async (request) => {
          asked.push(request);
          await new Promise((resolve) => setTimeout(resolve, 30));
          if (fail) throw new Error('provider said 401 for key sk_live_provider_key');
          return [
            { urls: ['turns:provider.test:443'], username: `for-${request.sessionId}`, credential: 'provider-issued' },
          ];
        },
      },
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it("puts the provider's servers in the welcome, which still comes before peer-joined", async () => {
    const { welcome, peerId } = await joined(server, 'provided');
    expect(welcome.iceServers).toEqual([
      { urls: ['turns:provider.test:443'], username: `for-${peerId}`, credential: 'provider-issued' },
    ]);
    expect(asked).toEqual([{ sessionId: peerId, principal: undefined, room: 'provided' }]);
  });

  it('gives the configured STUN only when the provider fails, logging the failure without its message', async () => {
    fail = true;
    try {
      const { welcome } = await joined(server, 'provider-down');
      expect(welcome.iceServers).toEqual([{ urls: ['stun:s.test'] }]);
      const log = lines.join('');
      expect(log).toMatch(
        /"room":"provider-down","errorType":"Error","msg":"TURN provider failed; the joiner gets STUN only"/,
      );
      expect(log).not.toMatch(/sk_live_provider_key|configured-secret/);
    } finally {
      fail = false;
    }
  });
});

describe('the log (LOG_LEVEL=debug, captured)', () => {
  const JWT_SECRET = 'log-test-jwt-secret-never-logged';
  const TURN_SECRET = 'log-test-turn-secret-never-logged';
  const CANDIDATE_ADDRESS = '192.0.2.55';
  const lines: string[] = [];
  let server: TestServer;
  const token = (sub: string, key = JWT_SECRET) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(key));

  beforeAll(async () => {
    server = await startServer(
      { LOG_LEVEL: 'debug', AUTH_JWT_SECRET: JWT_SECRET, TURN_URLS: 'turn:t.test', TURN_SECRET },
      { logStream: { write: (line) => void lines.push(line) } },
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it('holds no token, TURN secret, SDP or candidate address after a session that uses them all', async () => {
    const tokens = [
      await token('ada'),
      await token('bob'),
      await token('ada'),
      await token('mallory'),
      await token('eve', 'wrong-key'),
    ];
    const [adaToken, bobToken, refreshToken, otherSubToken, wrongKeyToken] = tokens as [
      string,
      string,
      string,
      string,
      string,
    ];
    const ada = await joined(server, 'logged', { Authorization: `Bearer ${adaToken}`, passcode: adaToken });
    const bob = await joined(server, 'logged', { passcode: bobToken });
    expect(ada.welcome.iceServers[0].credential).toEqual(expect.any(String));
    expect(JSON.parse(text(await ada.r.nextFrame())).type).toBe('peer-joined');
    const sdp = {
      type: 'offer',
      sdp: `v=0\r\no=- 1 2 IN IP4 ${CANDIDATE_ADDRESS}\r\na=candidate:1 1 udp 2122260223 ${CANDIDATE_ADDRESS} 54321 typ host\r\n`,
    };
    const candidate = {
      candidate: { candidate: `candidate:1 1 udp 2122260223 ${CANDIDATE_ADDRESS} 54321 typ host`, sdpMid: '0' },
    };
    ada.r.send(
      wire('SEND', { destination: '/app/signal', room: 'logged', to: bob.peerId }, JSON.stringify(sdp)) +
        wire('SEND', { destination: '/app/signal', room: 'logged', to: bob.peerId }, JSON.stringify(candidate)) +
        wire('SEND', { destination: '/app/relay', room: 'logged', token: adaToken }, `relayed ${CANDIDATE_ADDRESS}`) +
        wire('SEND', { destination: '/app/token', receipt: 'refreshed' }, refreshToken) +
        wire('SEND', { destination: '/app/token', receipt: 'other' }, otherSubToken),
    );
    expect(JSON.parse(text(await bob.r.nextFrame())).type).toBe('offer');
    expect(await ada.r.nextFrame()).toMatchObject({ command: 'RECEIPT', headers: { 'receipt-id': 'refreshed' } });
    expect(JSON.parse(text(await ada.r.nextFrame())).code).toBe('TOKEN_REFUSED');
    const refused = await rawStomp(server);
    raws.push(refused);
    expect(
      (await refused.connect({ 'accept-version': '1.2', host: 'stomprtc', passcode: wrongKeyToken })).headers.code,
    ).toBe('AUTH_FAILED');
    // Any log call that carries request headers is censored too.
    server.app.log.info({ headers: { authorization: `Bearer ${adaToken}`, passcode: adaToken } }, 'an app log line');

    const log = lines.join('');
    // The log has what it should: sessions, refreshes, frames (with their credentials censored).
    expect(log).toMatch(/"msg":"session authenticated"/);
    expect(log).toMatch(/"msg":"token refreshed"/);
    expect(log).toMatch(
      /"frame":\{"command":"SEND","headers":\{"destination":"\/app\/relay","room":"logged","token":"\[redacted\]"\},"bodyBytes":\d+\}/,
    );
    expect(log).toMatch(
      /"headers":\{"authorization":"\[redacted\]","passcode":"\[redacted\]"\},"msg":"an app log line"/,
    );
    // And nothing it must not.
    for (const secret of [
      ...tokens,
      JWT_SECRET,
      TURN_SECRET,
      CANDIDATE_ADDRESS,
      ada.welcome.iceServers[0].credential,
    ]) {
      expect(log.includes(secret), `the log holds ${secret.slice(0, 24)}…`).toBe(false);
    }
    const infoAndAbove = lines.filter((line) => JSON.parse(line).level >= 30).join('');
    expect(infoAndAbove).not.toMatch(/candidate|v=0|"sdp"/);
  });
});
