/**
 * The client library keeps a session alive across token expiry by asking the app's callback for a
 * new token and sending it on SEND /app/token, against a real server that closes expired sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { connect, type Session } from '../../client/src/index.js';
import { expiryMs } from '../../client/src/token-refresh.js';
import type { RoomErrorInfo } from '../../client/src/errors.js';
import { startServer, until, type TestServer } from '../helpers/server.js';

const SECRET = 'client-refresh-secret-of-sufficient-length';
/** Tokens live 2 s here, so a session outlives several of them within a short test. */
const LIFETIME_S = 2;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_S: '0', HEARTBEAT_MS: '0' });
});
afterAll(async () => {
  await server.close();
});

function shortToken(sub = 'ada'): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + LIFETIME_S)
    .sign(new TextEncoder().encode(SECRET));
}

function watch(session: Session): { errors: RoomErrorInfo[]; states: string[] } {
  const seen = { errors: [] as RoomErrorInfo[], states: [] as string[] };
  session.on('error', (err) => seen.errors.push(err));
  session.on('state', (state) => seen.states.push(state));
  return seen;
}

describe('token refresh in the client', () => {
  it('refreshes through the callback before exp: the same session outlives three token lifetimes', async () => {
    let issued = 0;
    const session = await connect(server.wsUrl, {
      relayOnly: true,
      heartbeatMs: 0,
      token: () => (issued++, shortToken()),
    });
    const seen = watch(session);
    const peerId = session.peerId;
    try {
      await new Promise((resolve) => setTimeout(resolve, 3 * LIFETIME_S * 1000));
      expect(seen.errors).toEqual([]);
      expect(seen.states).toEqual([]);
      expect(session.state).toBe('connected');
      expect(session.peerId).toBe(peerId);
      expect(issued).toBeGreaterThanOrEqual(4);
      const room = await session.join('after-refreshes');
      expect(room).toBeDefined();
    } finally {
      await session.close();
    }
  });

  it('loses a session with a fixed token at its exp (TOKEN_EXPIRED), which is what the callback prevents', async () => {
    const session = await connect(server.wsUrl, {
      relayOnly: true,
      heartbeatMs: 0,
      token: await shortToken(),
      reconnect: { nextDelayMs: () => null },
    });
    const seen = watch(session);
    try {
      await until(
        () => seen.errors.some((e) => e.code === 'TOKEN_EXPIRED'),
        'the server closed the session with TOKEN_EXPIRED',
        2 * LIFETIME_S * 1000 + 1000,
      );
    } finally {
      await session.close();
    }
  });

  it('asks the callback again for the CONNECT of a reconnect', async () => {
    let issued = 0;
    const session = await connect(server.wsUrl, {
      relayOnly: true,
      heartbeatMs: 0,
      reconnect: { nextDelayMs: () => 50 },
      token: () => (issued++, shortToken()),
    });
    const seen = watch(session);
    try {
      const first = session.peerId;
      const beforeDrop = issued;
      session.dropConnection();
      await until(() => seen.states.includes('connected'), 'the session reconnected');
      expect(session.peerId).not.toBe(first);
      expect(issued).toBeGreaterThan(beforeDrop);
      expect(seen.errors).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('reads exp from a JWT without verifying it', async () => {
    const token = await shortToken();
    expect(expiryMs(token)).toBe(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000);
    expect(expiryMs('not-a-jwt')).toBeUndefined();
  });
});
