/**
 * Access control on the raw wire against a real server: the token's `stomprtc` grant (rooms and
 * roles), the app's authorize hook (sync and async, frames kept in order), token refresh through
 * SEND /app/token, TOKEN_EXPIRED, and MAX_SESSIONS_PER_USER. Refusals of an action are non-fatal
 * FORBIDDEN on /user/queue/errors; the session goes on.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, type JWTPayload } from 'jose';
import type { StompFrame } from '../../shared/src/stomp/frame.js';
import type { AccessRequest, AuthorizeHook } from '../../server/src/signaling/authorization.js';
import { rawStomp, startServer, text, wire, type RawStomp, type TestServer } from '../helpers/server.js';

const SECRET = 'access-control-secret-of-sufficient-length';

let raws: RawStomp[] = [];
afterEach(() => {
  for (const r of raws) r.close();
  raws = [];
});

function token(claims: JWTPayload & { sub?: string }, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

function describe_(frame: StompFrame): string {
  switch (frame.command) {
    case 'RECEIPT':
      return `RECEIPT ${frame.headers['receipt-id']}`;
    case 'ERROR':
      return `ERROR ${frame.headers.code}`;
    case 'MESSAGE': {
      if (frame.headers.destination === '/user/queue/errors') {
        return `error ${JSON.parse(text(frame)).code}${frame.headers['receipt-id'] ? ` receipt-id:${frame.headers['receipt-id']}` : ''}`;
      }
      const body = text(frame);
      return frame.headers.destination!.startsWith('/topic/room/')
        ? `MESSAGE ${JSON.parse(body).type}`
        : `MESSAGE ${body}`;
    }
    default:
      return frame.command;
  }
}

/** A raw session connected with `claims`, subscribed to its errors and signal queue. */
async function session(
  server: TestServer,
  claims: JWTPayload & { sub?: string },
  expiresIn?: string | number,
): Promise<RawStomp> {
  const r = await rawStomp(server);
  raws.push(r);
  const connected = await r.connect({
    'accept-version': '1.2',
    host: 'stomprtc',
    passcode: await token(claims, expiresIn),
  });
  expect(describe_(connected)).toBe('CONNECTED');
  r.send(
    wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
      wire('SUBSCRIBE', { id: 'signals', destination: '/user/queue/signal', receipt: 'ready' }),
  );
  expect(describe_(await r.nextFrame())).toBe('RECEIPT ready');
  return Object.assign(r, { peerId: connected.headers['user-name']! });
}

async function frames(r: RawStomp, count: number): Promise<string[]> {
  return (await r.frames.take(count)).map(describe_);
}

describe('the token grant (claim "stomprtc")', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ AUTH_JWT_SECRET: SECRET });
  });
  afterAll(async () => {
    await server.close();
  });

  it('lets a token without the claim do everything, as before', async () => {
    const r = await session(server, { sub: 'ada' });
    r.send(
      wire('SUBSCRIBE', { id: 'j', destination: '/topic/room/anything', receipt: 'joined' }) +
        wire('SUBSCRIBE', { id: 't', destination: '/topic/news', receipt: 'sub' }) +
        wire('SEND', { destination: '/topic/news', receipt: 'sent' }, 'hello'),
    );
    expect(await frames(r, 6)).toEqual([
      'MESSAGE welcome',
      'MESSAGE peer-joined',
      'RECEIPT joined',
      'RECEIPT sub',
      'MESSAGE hello',
      'RECEIPT sent',
    ]);
  });

  it('allows exact rooms and prefixes, and refuses other rooms with a non-fatal FORBIDDEN', async () => {
    const r = await session(server, { sub: 'ada', stomprtc: { rooms: ['team-42', 'support-*'] } });
    r.send(wire('SUBSCRIBE', { id: 'a', destination: '/topic/room/team-42', receipt: 'a' }));
    expect(await frames(r, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT a']);
    r.send(wire('SUBSCRIBE', { id: 'b', destination: '/topic/room/support-7', receipt: 'b' }));
    expect(await frames(r, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT b']);
    for (const room of ['team-421', 'team', 'supportx', 'other']) {
      r.send(wire('SUBSCRIBE', { id: `x-${room}`, destination: `/topic/room/${room}`, receipt: room }));
      const refusal = await r.nextFrame();
      expect(describe_(refusal)).toBe(`error FORBIDDEN receipt-id:${room}`);
      expect(JSON.parse(text(refusal)).message).toBe(`the token does not allow join in room "${room}"`);
    }
    // Refused joins left nothing behind: the same id may be used again for an allowed room.
    r.send(wire('SUBSCRIBE', { id: 'x-other', destination: '/topic/room/support-8', receipt: 'c' }));
    expect(await frames(r, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT c']);
  });

  it('limits each action to its role: a join-only token may listen but not signal, relay or publish', async () => {
    const listener = await session(server, { sub: 'bob', stomprtc: { roles: ['join'] } });
    const talker = await session(server, { sub: 'cy' });
    listener.send(wire('SUBSCRIBE', { id: 'r', destination: '/topic/room/roles', receipt: 'in' }));
    expect(await frames(listener, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT in']);
    talker.send(wire('SUBSCRIBE', { id: 'r', destination: '/topic/room/roles', receipt: 'in' }));
    expect(await frames(talker, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT in']);
    expect(await frames(listener, 1)).toEqual(['MESSAGE peer-joined']);
    const to = (talker as RawStomp & { peerId: string }).peerId;
    listener.send(
      wire('SEND', { destination: '/app/signal', room: 'roles', to, receipt: 's' }, '{"type":"offer"}') +
        wire('SEND', { destination: '/app/relay', room: 'roles', receipt: 'r' }, 'data') +
        wire('SEND', { destination: '/topic/news', receipt: 'p' }, 'news') +
        wire('SUBSCRIBE', { id: 'n', destination: '/topic/news', receipt: 'n' }),
    );
    expect(await frames(listener, 4)).toEqual([
      'error FORBIDDEN receipt-id:s',
      'error FORBIDDEN receipt-id:r',
      'error FORBIDDEN receipt-id:p',
      'error FORBIDDEN receipt-id:n',
    ]);
    // The talker has all roles; its signal reaches the listener, whose session is still open.
    talker.send(
      wire(
        'SEND',
        {
          destination: '/app/signal',
          room: 'roles',
          to: (listener as RawStomp & { peerId: string }).peerId,
          receipt: 't',
        },
        '{"type":"offer"}',
      ),
    );
    expect(await frames(talker, 1)).toEqual(['RECEIPT t']);
    expect(await frames(listener, 1)).toEqual(['MESSAGE {"type":"offer"}']);
  });

  it("checks publish and subscribe on plain destinations but never a session's own /user queues", async () => {
    const r = await session(server, { sub: 'dee', stomprtc: { roles: ['subscribe'] } });
    r.send(
      wire('SUBSCRIBE', { id: 't', destination: '/topic/feed', receipt: 't' }) +
        wire('SUBSCRIBE', { id: 'u', destination: '/user/queue/relay', receipt: 'u' }) +
        wire('SEND', { destination: '/queue/jobs', receipt: 'q' }, 'job'),
    );
    expect(await frames(r, 3)).toEqual(['RECEIPT t', 'RECEIPT u', 'error FORBIDDEN receipt-id:q']);
  });

  it('refuses a SEND inside a transaction when it is sent, not at COMMIT', async () => {
    const r = await session(server, { sub: 'eve', stomprtc: { roles: ['subscribe'] } });
    r.send(
      wire('BEGIN', { transaction: 'tx' }) +
        wire('SEND', { destination: '/topic/x', transaction: 'tx', receipt: 'in-tx' }, 'x') +
        wire('COMMIT', { transaction: 'tx', receipt: 'committed' }),
    );
    expect(await frames(r, 2)).toEqual(['error FORBIDDEN receipt-id:in-tx', 'RECEIPT committed']);
  });

  it.each([
    ['not an object', ['team-42']],
    ['rooms not a list', { rooms: 'team-42' }],
    ['a "*" inside a room pattern', { rooms: ['te*m'] }],
    ['an unknown role', { roles: ['join', 'admin'] }],
  ])('refuses a token whose grant is malformed (%s) with AUTH_FAILED', async (_label, grant) => {
    const r = await rawStomp(server);
    raws.push(r);
    const reply = await r.connect({
      'accept-version': '1.2',
      host: 'stomprtc',
      passcode: await token({ sub: 'x', stomprtc: grant }),
    });
    expect(describe_(reply)).toBe('ERROR AUTH_FAILED');
    expect(reply.headers.message).toMatch(/claim "stomprtc"/);
    await r.waitForClose();
  });
});

describe('the authorize hook', () => {
  let server: TestServer;
  const asked: AccessRequest[] = [];
  let decide: AuthorizeHook = () => true;
  beforeAll(async () => {
    server = await startServer(
      { AUTH_JWT_SECRET: SECRET },
      {
        authorize: (request) => {
          asked.push(request);
          return decide(request);
        },
      },
    );
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    asked.length = 0;
  });

  it('decides instead of the token grant, seeing the principal, claims, action and room', async () => {
    decide = ({ room, principal }) => room === `${principal}-room`;
    const r = await session(server, { sub: 'ada', stomprtc: { rooms: ['elsewhere'] } });
    r.send(
      wire('SUBSCRIBE', { id: 'a', destination: '/topic/room/ada-room', receipt: 'a' }) +
        wire('SUBSCRIBE', { id: 'b', destination: '/topic/room/elsewhere', receipt: 'b' }),
    );
    expect(await frames(r, 4)).toEqual([
      'MESSAGE welcome',
      'MESSAGE peer-joined',
      'RECEIPT a',
      'error FORBIDDEN receipt-id:b',
    ]);
    expect(asked.filter((q) => q.action === 'join')).toEqual([
      expect.objectContaining({
        principal: 'ada',
        action: 'join',
        room: 'ada-room',
        destination: '/topic/room/ada-room',
        claims: expect.objectContaining({ sub: 'ada' }),
      }),
      expect.objectContaining({ action: 'join', room: 'elsewhere' }),
    ]);
  });

  it('may answer later (a database lookup): later frames wait for it and keep their order', async () => {
    decide = async ({ room }) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return room !== 'closed-room';
    };
    const a = await session(server, { sub: 'ada' });
    const b = await session(server, { sub: 'bob' });
    b.send(wire('SUBSCRIBE', { id: 'r', destination: '/topic/room/async', receipt: 'in' }));
    expect(await frames(b, 3)).toEqual(['MESSAGE welcome', 'MESSAGE peer-joined', 'RECEIPT in']);
    const to = (b as RawStomp & { peerId: string }).peerId;
    // The signal right behind the join is judged (and handled) only after the join took effect.
    a.send(
      wire('SUBSCRIBE', { id: 'r', destination: '/topic/room/async', receipt: 'in' }) +
        wire('SEND', { destination: '/app/signal', room: 'async', to, receipt: 'sig' }, '{"n":1}') +
        wire('SUBSCRIBE', { id: 'c', destination: '/topic/room/closed-room', receipt: 'closed' }) +
        wire('SEND', { destination: '/topic/after', receipt: 'after' }, 'x'),
    );
    expect(await frames(a, 6)).toEqual([
      'MESSAGE welcome',
      'MESSAGE peer-joined',
      'RECEIPT in',
      'RECEIPT sig',
      'error FORBIDDEN receipt-id:closed',
      'RECEIPT after',
    ]);
    expect(await frames(b, 2)).toEqual(['MESSAGE peer-joined', 'MESSAGE {"n":1}']);
  });

  it('refuses when the hook throws or rejects, without showing the client its error', async () => {
    const r = await session(server, { sub: 'ada' });
    decide = () => {
      throw new Error('db password is hunter2');
    };
    r.send(wire('SUBSCRIBE', { id: 'a', destination: '/topic/room/x', receipt: 'a' }));
    const thrown = await r.nextFrame();
    decide = () => Promise.reject(new Error('db password is hunter2'));
    r.send(wire('SUBSCRIBE', { id: 'b', destination: '/topic/room/y', receipt: 'b' }));
    const rejected = await r.nextFrame();
    for (const refusal of [thrown, rejected]) {
      expect(describe_(refusal)).toMatch(/^error FORBIDDEN/);
      expect(text(refusal)).not.toMatch(/hunter2/);
    }
  });
});

describe('token refresh (SEND /app/token) and expiry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_S: '0' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes a session whose token expires with a fatal TOKEN_EXPIRED', async () => {
    const r = await session(server, { sub: 'ada' }, Math.floor(Date.now() / 1000) + 1);
    const error = await r.frames.next(3_000);
    expect(describe_(error)).toBe('ERROR TOKEN_EXPIRED');
    expect(error.headers.message).toMatch(/refresh it before exp with SEND \/app\/token/);
    await r.waitForClose();
  });

  it('keeps a session open past the first exp when a new token of the same sub arrives', async () => {
    const r = await session(server, { sub: 'ada' }, Math.floor(Date.now() / 1000) + 1);
    r.send(
      wire(
        'SEND',
        { destination: '/app/token', receipt: 'refreshed', 'content-type': 'text/plain' },
        await token({ sub: 'ada' }, '1h'),
      ),
    );
    expect(await frames(r, 1)).toEqual(['RECEIPT refreshed']);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    r.send(wire('SEND', { destination: '/topic/still-here', receipt: 'alive' }, 'x'));
    expect(await frames(r, 1)).toEqual(['RECEIPT alive']);
  });

  it.each([
    ['another sub', () => token({ sub: 'mallory' }), /this session is "ada"; a refresh keeps the same sub/],
    ['an expired token', () => token({ sub: 'ada' }, '-1m'), /"exp" claim timestamp check failed/],
    [
      'another key',
      () =>
        new SignJWT({ sub: 'ada' })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode('another-secret')),
      /signature/,
    ],
    ['a malformed grant', () => token({ sub: 'ada', stomprtc: { roles: ['root'] } }), /claim "stomprtc"/],
    ['no body', async () => '', /needs the new JWT as its body/],
  ])(
    'refuses a refresh with %s with a non-fatal TOKEN_REFUSED and keeps the old token',
    async (_label, make, message) => {
      const r = await session(server, { sub: 'ada', stomprtc: { rooms: ['kept'] } });
      r.send(wire('SEND', { destination: '/app/token', receipt: 'refresh' }, await make()));
      const refusal = await r.nextFrame();
      expect(describe_(refusal)).toBe('error TOKEN_REFUSED receipt-id:refresh');
      expect(JSON.parse(text(refusal)).message).toMatch(message);
      r.send(
        wire('SUBSCRIBE', { id: 'k', destination: '/topic/room/kept', receipt: 'k' }) +
          wire('SUBSCRIBE', { id: 'o', destination: '/topic/room/other', receipt: 'o' }),
      );
      expect(await frames(r, 4)).toEqual([
        'MESSAGE welcome',
        'MESSAGE peer-joined',
        'RECEIPT k',
        'error FORBIDDEN receipt-id:o',
      ]);
    },
  );

  it("judges the frames after a refresh by the new token's grant", async () => {
    const r = await session(server, { sub: 'ada', stomprtc: { rooms: ['first'] } });
    r.send(
      wire(
        'SEND',
        { destination: '/app/token', receipt: 'refreshed' },
        await token({ sub: 'ada', stomprtc: { rooms: ['second'] } }),
      ) +
        wire('SUBSCRIBE', { id: 'a', destination: '/topic/room/first', receipt: 'first' }) +
        wire('SUBSCRIBE', { id: 'b', destination: '/topic/room/second', receipt: 'second' }),
    );
    expect(await frames(r, 5)).toEqual([
      'RECEIPT refreshed',
      'error FORBIDDEN receipt-id:first',
      'MESSAGE welcome',
      'MESSAGE peer-joined',
      'RECEIPT second',
    ]);
  });

  it('refuses a refresh on a server without auth', async () => {
    const open = await startServer();
    try {
      const r = await rawStomp(open);
      raws.push(r);
      await r.connect();
      r.send(
        wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
          wire('SEND', { destination: '/app/token', receipt: 't' }, 'x.y.z'),
      );
      expect(await frames(r, 1)).toEqual(['error TOKEN_REFUSED receipt-id:t']);
    } finally {
      await open.close();
    }
  });
});

describe('MAX_SESSIONS_PER_USER=2', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ AUTH_JWT_SECRET: SECRET, MAX_SESSIONS_PER_USER: '2' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses a third session of one sub with a fatal TOO_MANY_SESSIONS, counting only live sessions', async () => {
    const first = await session(server, { sub: 'ada' });
    await session(server, { sub: 'ada' });
    await session(server, { sub: 'bob' });
    const third = await rawStomp(server);
    raws.push(third);
    const refused = await third.connect({
      'accept-version': '1.2',
      host: 'stomprtc',
      passcode: await token({ sub: 'ada' }),
    });
    expect(describe_(refused)).toBe('ERROR TOO_MANY_SESSIONS');
    expect(refused.headers.message).toMatch(/user "ada" already has 2 sessions \(MAX_SESSIONS_PER_USER\)/);
    await third.waitForClose();
    first.close();
    await first.waitForClose();
    // The server hears the close a moment after the client; retry until the slot is free (a liveness bound).
    let reply: StompFrame | undefined;
    for (let attempt = 0; attempt < 50 && reply?.command !== 'CONNECTED'; attempt++) {
      const again = await rawStomp(server);
      raws.push(again);
      reply = await again.connect({ 'accept-version': '1.2', host: 'stomprtc', passcode: await token({ sub: 'ada' }) });
      if (reply.command !== 'CONNECTED') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(reply?.command).toBe('CONNECTED');
  });
});
