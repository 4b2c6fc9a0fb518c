/**
 * Every error path of a session, on the raw wire. Fatal ones end in an ERROR frame with `code`
 * and `message` and a close; non-fatal ones in a MESSAGE on /user/queue/errors while the session
 * goes on. A refused frame never gets a RECEIPT. Beside every test a bystander pair of sessions
 * keeps exchanging messages, and must see neither errors nor a gap.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import SockJS from 'sockjs-client';
import { Client } from '@stomp/stompjs';
import { ERROR_CATALOGUE, type ErrorCode } from '../../shared/src/errors.js';
import type { StompFrame } from '../../shared/src/stomp/frame.js';
import {
  rawStomp,
  startServer,
  stompClient,
  text,
  until,
  wire,
  type RawStomp,
  type Subscription,
  type TestClient,
  type TestServer,
} from '../helpers/server.js';

const LIMITS = {
  MAX_FRAME_BYTES: '4096',
  MAX_CONNECT_FRAME_BYTES: '512',
  MAX_HEADERS: '8',
  MAX_HEADER_LINE_BYTES: '1024',
  RELAY_MAX_BYTES: '1024',
  MAX_SUBSCRIPTIONS: '4',
  MAX_QUEUE_DEPTH: '2',
  CONNECT_TIMEOUT_MS: '300',
};

let server: TestServer;
const raws: RawStomp[] = [];
let seq = 0;
const unique = (name: string) => `${name}-${++seq}`;

/** A session pair on the same server that every test must leave undisturbed. */
let bystander: { sender: TestClient; receiver: TestClient; inbox: Subscription };

beforeAll(async () => {
  server = await startServer(LIMITS);
  const sender = await stompClient(server);
  const receiver = await stompClient(server);
  const inbox = receiver.subscribe('/topic/bystander');
  await receiver.sync();
  bystander = { sender, receiver, inbox };
});

afterEach(async () => {
  const body = unique('still-flowing');
  bystander.sender.send('/topic/bystander', body);
  expect((await bystander.inbox.next()).body).toBe(body);
  for (const client of [bystander.sender, bystander.receiver]) {
    expect(client.isClosed()).toBe(false);
    expect(client.errors.all).toEqual([]);
    expect(client.errorFrames.all).toEqual([]);
  }
  for (const raw of raws.splice(0)) raw.close();
});

afterAll(async () => {
  await bystander.sender.close();
  await bystander.receiver.close();
  await server.close();
});

async function raw(protocols?: string[]): Promise<RawStomp> {
  const r = await rawStomp(server, protocols ? { protocols } : {});
  raws.push(r);
  return r;
}

async function connected(): Promise<RawStomp> {
  const r = await raw();
  expect((await r.connect()).command).toBe('CONNECTED');
  return r;
}

/** A connected raw session subscribed to /user/queue/errors. */
async function withErrors(): Promise<RawStomp> {
  const r = await connected();
  r.send(wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors', receipt: 'errors-ready' }));
  expect(describe_(await r.nextFrame())).toBe('RECEIPT errors-ready');
  return r;
}

function describe_(frame: StompFrame): string {
  switch (frame.command) {
    case 'RECEIPT':
      return `RECEIPT ${frame.headers['receipt-id']}`;
    case 'ERROR':
      return `ERROR ${frame.headers.code}`;
    case 'MESSAGE':
      return frame.headers.destination === '/user/queue/errors'
        ? `error ${JSON.parse(text(frame)).code}${frame.headers['receipt-id'] ? ` receipt-id:${frame.headers['receipt-id']}` : ''}`
        : `MESSAGE ${text(frame)}`;
    default:
      return frame.command;
  }
}

/** The session answers with ERROR `code` (with a message), sends nothing after it, and closes. */
async function expectFatal(r: RawStomp, code: ErrorCode, receiptId?: string): Promise<StompFrame> {
  const error = await r.nextFrame();
  expect(describe_(error)).toBe(`ERROR ${code}`);
  expect(error.headers.message).toMatch(/\S/);
  expect(error.headers['receipt-id']).toBe(receiptId);
  expect(ERROR_CATALOGUE[code].fatal).toBe(true);
  await r.waitForClose();
  expect(r.frames.pending).toEqual([]);
  expect(r.frames.all.filter((f) => f.command === 'RECEIPT')).toEqual([]);
  return error;
}

/**
 * Sends `bad` (with receipt:bad) and then a good frame with receipt:good: the bad one must come
 * back as a non-fatal `code` carrying receipt-id:bad and no RECEIPT, and the session goes on.
 */
async function expectRefused(r: RawStomp, bad: string, code: ErrorCode): Promise<void> {
  expect(ERROR_CATALOGUE[code].fatal).toBe(false);
  r.send(bad);
  r.send(wire('BEGIN', { transaction: unique('probe'), receipt: 'good' }));
  const [error, receipt] = await r.frames.take(2);
  expect([describe_(error!), describe_(receipt!)]).toEqual([`error ${code} receipt-id:bad`, 'RECEIPT good']);
  expect(JSON.parse(text(error!)).message).toMatch(/\S/);
}

/** A SEND frame of exactly `total` bytes, NUL included; `sized` gives it a content-length. */
function sendOfSize(total: number, destination: string, sized: boolean): string {
  for (let body = total; body >= 0; body--) {
    const frame = sized
      ? `SEND\ndestination:${destination}\ncontent-length:${body}\n\n${'b'.repeat(body)}\0`
      : `SEND\ndestination:${destination}\n\n${'b'.repeat(body)}\0`;
    if (Buffer.byteLength(frame) === total) return frame;
  }
  throw new Error(`no SEND of ${total} bytes`);
}

describe('fatal errors', () => {
  it('refuses a header line without a colon with MALFORMED_FRAME', async () => {
    const r = await connected();
    r.send('SEND\ndestination /topic/x\n\nbody\0');
    await expectFatal(r, 'MALFORMED_FRAME');
  });

  it('refuses a content-length that is not a number with MALFORMED_FRAME', async () => {
    const r = await connected();
    r.send('SEND\ndestination:/topic/x\ncontent-length:12a\n\nbody\0');
    await expectFatal(r, 'MALFORMED_FRAME');
  });

  it('refuses a sized body not followed by NUL with MALFORMED_FRAME', async () => {
    const r = await connected();
    r.send('SEND\ndestination:/topic/x\ncontent-length:2\n\nbody\0');
    await expectFatal(r, 'MALFORMED_FRAME');
  });

  it('answers a frame with CR-only line ends with MALFORMED_FRAME at once instead of waiting for an LF', async () => {
    const r = await connected();
    r.send('SEND\rdestination:/topic/x\r\rbody\0');
    const error = await expectFatal(r, 'MALFORMED_FRAME');
    expect(error.headers.message).toMatch(/CR/);
  });

  it('refuses an unknown command with UNKNOWN_COMMAND', async () => {
    const r = await connected();
    r.send('PUBLISH\ndestination:/topic/x\n\n\0');
    await expectFatal(r, 'UNKNOWN_COMMAND');
  });

  it('refuses a server command sent by a client with UNKNOWN_COMMAND', async () => {
    const r = await connected();
    r.send(wire('MESSAGE', { destination: '/topic/x', 'message-id': '1', subscription: 's' }, 'x'));
    await expectFatal(r, 'UNKNOWN_COMMAND');
  });

  it('refuses an undefined escape sequence with INVALID_ESCAPE', async () => {
    const r = await connected();
    r.send('SEND\ndestination:/topic/x\nx-bad:tab\\there\n\n\0');
    await expectFatal(r, 'INVALID_ESCAPE');
  });

  describe.each([
    ['with content-length', true],
    ['without content-length', false],
  ])('MAX_FRAME_BYTES (4096), %s', (_label, sized) => {
    it('accepts a frame of exactly MAX_FRAME_BYTES', async () => {
      const r = await connected();
      const topic = `/topic/${unique('at-limit')}`;
      r.send(wire('SUBSCRIBE', { id: 's', destination: topic }));
      r.send(sendOfSize(4096, topic, sized));
      const message = await r.nextFrame();
      expect(message.command).toBe('MESSAGE');
      expect(message.body.length).toBeGreaterThan(3900);
    });

    it('refuses a frame of MAX_FRAME_BYTES + 1 with FRAME_TOO_LARGE and delivers nothing', async () => {
      const listener = await connected();
      const topic = `/topic/${unique('over-limit')}`;
      listener.send(wire('SUBSCRIBE', { id: 's', destination: topic, receipt: 'ready' }));
      await listener.nextFrame();
      const r = await connected();
      r.send(sendOfSize(4097, topic, sized));
      await expectFatal(r, 'FRAME_TOO_LARGE');
      const other = await connected();
      other.send(wire('SEND', { destination: topic }, 'next'));
      expect(text(await listener.nextFrame())).toBe('next');
    });
  });

  it('refuses a declared content-length over the limit before the body arrives', async () => {
    const r = await connected();
    r.send('SEND\ndestination:/topic/x\ncontent-length:999999\n\n');
    await expectFatal(r, 'FRAME_TOO_LARGE');
  });

  describe('MAX_CONNECT_FRAME_BYTES (512) before CONNECT', () => {
    const connectOfSize = (total: number) => {
      const head = 'CONNECT\naccept-version:1.2\nhost:stomprtc\nx-pad:';
      return `${head}${'p'.repeat(total - head.length - 3)}\n\n\0`;
    };

    it('accepts a CONNECT of exactly MAX_CONNECT_FRAME_BYTES', async () => {
      const r = await raw();
      const frame = connectOfSize(512);
      expect(frame.length).toBe(512);
      r.send(frame);
      expect((await r.nextFrame()).command).toBe('CONNECTED');
    });

    it('refuses a CONNECT of MAX_CONNECT_FRAME_BYTES + 1 with FRAME_TOO_LARGE', async () => {
      const r = await raw();
      r.send(connectOfSize(513));
      await expectFatal(r, 'FRAME_TOO_LARGE');
    });

    it('allows frames up to MAX_FRAME_BYTES once connected', async () => {
      const r = await connected();
      const topic = `/topic/${unique('after-connect')}`;
      r.send(wire('SUBSCRIBE', { id: 's', destination: topic }) + sendOfSize(2048, topic, true));
      expect((await r.nextFrame()).command).toBe('MESSAGE');
    });
  });

  describe('MAX_HEADERS (8)', () => {
    const sendWithHeaders = (topic: string, count: number) =>
      wire(
        'SEND',
        { destination: topic, ...Object.fromEntries(Array.from({ length: count - 1 }, (_, i) => [`x-h${i}`, `${i}`])) },
        'x',
      );

    it('accepts a frame with exactly MAX_HEADERS headers', async () => {
      const r = await connected();
      const topic = `/topic/${unique('headers-ok')}`;
      r.send(wire('SUBSCRIBE', { id: 's', destination: topic }) + sendWithHeaders(topic, 8));
      const message = await r.nextFrame();
      expect(message.headers['x-h6']).toBe('6');
    });

    it('refuses a frame with MAX_HEADERS + 1 headers with TOO_MANY_HEADERS', async () => {
      const r = await connected();
      r.send(sendWithHeaders('/topic/x', 9));
      await expectFatal(r, 'TOO_MANY_HEADERS');
    });
  });

  describe('MAX_HEADER_LINE_BYTES (1024)', () => {
    const line = (bytes: number) => `x-long:${'v'.repeat(bytes - 'x-long:'.length)}`;

    it('accepts a header line of exactly MAX_HEADER_LINE_BYTES', async () => {
      const r = await connected();
      const topic = `/topic/${unique('line-ok')}`;
      r.send(wire('SUBSCRIBE', { id: 's', destination: topic }) + `SEND\ndestination:${topic}\n${line(1024)}\n\nx\0`);
      expect((await r.nextFrame()).headers['x-long']).toHaveLength(1024 - 7);
    });

    it('refuses a header line of MAX_HEADER_LINE_BYTES + 1 with HEADER_TOO_LONG', async () => {
      const r = await connected();
      r.send(`SEND\ndestination:/topic/x\n${line(1025)}\n\nx\0`);
      await expectFatal(r, 'HEADER_TOO_LONG');
    });

    it('answers a 1 MiB header line in one WebSocket message with an ERROR frame, not a bare 1009 close', async () => {
      const r = await connected();
      r.send(`SEND\ndestination:/topic/x\nx-huge:${'v'.repeat(1 << 20)}\n\nx\0`);
      await expectFatal(r, 'FRAME_TOO_LARGE');
      expect(await r.waitForClose()).toBe(1009);
    });

    it('refuses an endless header line without waiting for its end', async () => {
      const r = await connected();
      r.send(`SEND\ndestination:/topic/x\nx-endless:${'v'.repeat(1100)}`);
      await expectFatal(r, 'HEADER_TOO_LONG');
    });
  });

  it('refuses SUBSCRIBE without id with MISSING_HEADER, carrying receipt-id and no RECEIPT', async () => {
    const r = await connected();
    r.send(wire('SUBSCRIBE', { destination: '/topic/x', receipt: 'no-id' }));
    await expectFatal(r, 'MISSING_HEADER', 'no-id');
  });

  it('refuses SEND without destination with MISSING_HEADER', async () => {
    const r = await connected();
    r.send(wire('SEND', {}, 'nowhere'));
    await expectFatal(r, 'MISSING_HEADER');
  });

  it('refuses a body on a frame that may not have one with BODY_NOT_ALLOWED', async () => {
    const r = await connected();
    r.send(wire('SUBSCRIBE', { id: 's', destination: '/topic/x' }, 'body'));
    await expectFatal(r, 'BODY_NOT_ALLOWED');
  });

  it('refuses a frame before CONNECT with NOT_CONNECTED', async () => {
    const r = await raw();
    r.send(wire('SEND', { destination: '/topic/x', receipt: 'early' }, 'too early'));
    await expectFatal(r, 'NOT_CONNECTED', 'early');
  });

  it('refuses a second CONNECT with ALREADY_CONNECTED', async () => {
    const r = await connected();
    r.send(wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc' }));
    await expectFatal(r, 'ALREADY_CONNECTED');
  });

  it('refuses a CONNECT without a supported version with UNSUPPORTED_VERSION, naming the supported ones', async () => {
    const r = await raw();
    r.send(wire('CONNECT', { 'accept-version': '2.0,3.1', host: 'stomprtc' }));
    const error = await expectFatal(r, 'UNSUPPORTED_VERSION');
    expect(error.headers.version).toBe('1.0,1.1,1.2');
  });

  it('refuses a malformed heart-beat header in CONNECT with MALFORMED_FRAME', async () => {
    const r = await raw();
    r.send(wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': 'often' }));
    await expectFatal(r, 'MALFORMED_FRAME');
  });

  it('closes a transport that sends no CONNECT in CONNECT_TIMEOUT_MS with CONNECT_TIMEOUT', async () => {
    const r = await raw();
    await expectFatal(r, 'CONNECT_TIMEOUT');
  });

  it('refuses a subscription id already live on the session with DUPLICATE_SUBSCRIPTION', async () => {
    const r = await connected();
    r.send(
      wire('SUBSCRIBE', { id: 'twice', destination: '/topic/a' }) +
        wire('SUBSCRIBE', { id: 'twice', destination: '/topic/b', receipt: 'dup' }),
    );
    await expectFatal(r, 'DUPLICATE_SUBSCRIPTION', 'dup');
  });

  it('processes nothing that follows a fatal frame in the same transport message', async () => {
    const listener = await connected();
    const topic = `/topic/${unique('after-fatal')}`;
    listener.send(wire('SUBSCRIBE', { id: 's', destination: topic, receipt: 'ready' }));
    await listener.nextFrame();
    const r = await connected();
    r.send('BOGUS\n\n\0' + wire('SEND', { destination: topic }, 'must not arrive'));
    await expectFatal(r, 'UNKNOWN_COMMAND');
    const other = await connected();
    other.send(wire('SEND', { destination: topic }, 'arrives'));
    expect(text(await listener.nextFrame())).toBe('arrives');
  });
});

describe('non-fatal errors', () => {
  it('accepts MAX_SUBSCRIPTIONS subscriptions and refuses one more with TOO_MANY_SUBSCRIPTIONS', async () => {
    const r = await withErrors();
    r.send(['a', 'b', 'c'].map((n) => wire('SUBSCRIBE', { id: n, destination: `/topic/${n}`, receipt: n })).join(''));
    expect((await r.frames.take(3)).map(describe_)).toEqual(['RECEIPT a', 'RECEIPT b', 'RECEIPT c']);
    await expectRefused(
      r,
      wire('SUBSCRIBE', { id: 'd', destination: '/topic/d', receipt: 'bad' }),
      'TOO_MANY_SUBSCRIPTIONS',
    );
    // Freeing one makes room again.
    r.send(wire('UNSUBSCRIBE', { id: 'a' }) + wire('SUBSCRIBE', { id: 'd', destination: '/topic/d', receipt: 'd' }));
    expect(describe_(await r.nextFrame())).toBe('RECEIPT d');
  });

  it('refuses UNSUBSCRIBE of an unknown id with UNKNOWN_SUBSCRIPTION', async () => {
    const r = await withErrors();
    await expectRefused(r, wire('UNSUBSCRIBE', { id: 'never', receipt: 'bad' }), 'UNKNOWN_SUBSCRIPTION');
  });

  it.each(['COMMIT', 'ABORT'])(
    'refuses %s of a transaction that is not open with UNKNOWN_TRANSACTION',
    async (command) => {
      const r = await withErrors();
      await expectRefused(r, wire(command, { transaction: 'never', receipt: 'bad' }), 'UNKNOWN_TRANSACTION');
    },
  );

  it('refuses a SEND in a transaction that is not open with UNKNOWN_TRANSACTION, delivering nothing', async () => {
    const r = await withErrors();
    const topic = `/topic/${unique('no-tx')}`;
    r.send(wire('SUBSCRIBE', { id: 's', destination: topic }));
    await expectRefused(
      r,
      wire('SEND', { destination: topic, transaction: 'never', receipt: 'bad' }, 'x'),
      'UNKNOWN_TRANSACTION',
    );
    r.send(wire('SEND', { destination: topic }, 'marker'));
    expect(describe_(await r.nextFrame())).toBe('MESSAGE marker');
  });

  it('refuses a SEND to an invalid destination inside a transaction when it arrives, and COMMIT delivers the rest', async () => {
    const r = await withErrors();
    const topic = `/topic/${unique('tx-bad-dest')}`;
    r.send(
      wire('SUBSCRIBE', { id: 's', destination: topic }) +
        wire('BEGIN', { transaction: 't' }) +
        wire('SEND', { destination: topic, transaction: 't' }, 'one'),
    );
    await expectRefused(
      r,
      wire('SEND', { destination: '/nowhere', transaction: 't', receipt: 'bad' }, 'two'),
      'INVALID_DESTINATION',
    );
    await expectRefused(
      r,
      wire('SEND', { destination: '/topic/room/x', transaction: 't', receipt: 'bad' }, 'two'),
      'READ_ONLY_DESTINATION',
    );
    r.send(
      wire('SEND', { destination: topic, transaction: 't' }, 'three') +
        wire('COMMIT', { transaction: 't', receipt: 'commit' }),
    );
    expect((await r.frames.take(3)).map(describe_)).toEqual(['MESSAGE one', 'MESSAGE three', 'RECEIPT commit']);
  });

  it('reports a frame an /app handler refuses at COMMIT and still applies the rest of the transaction', async () => {
    const r = await withErrors();
    const topic = `/topic/${unique('tx-app-refusal')}`;
    r.send(
      wire('SUBSCRIBE', { id: 's', destination: topic }) +
        wire('BEGIN', { transaction: 't' }) +
        wire('SEND', { destination: topic, transaction: 't' }, 'one') +
        wire(
          'SEND',
          { destination: '/app/signal', room: 'nowhere', to: 'nobody', transaction: 't', receipt: 'signal' },
          '{}',
        ) +
        wire('SEND', { destination: topic, transaction: 't' }, 'three') +
        wire('COMMIT', { transaction: 't', receipt: 'commit' }),
    );
    const frames = (await r.frames.take(5)).map(describe_);
    expect(frames).toEqual([
      'RECEIPT signal',
      'MESSAGE one',
      'error NOT_A_MEMBER receipt-id:signal',
      'MESSAGE three',
      'RECEIPT commit',
    ]);
  });

  it('refuses BEGIN of an open transaction with DUPLICATE_TRANSACTION', async () => {
    const r = await withErrors();
    r.send(wire('BEGIN', { transaction: 't' }));
    await expectRefused(r, wire('BEGIN', { transaction: 't', receipt: 'bad' }), 'DUPLICATE_TRANSACTION');
  });

  it.each(['ACK', 'NACK'])('refuses %s of an unknown id with UNKNOWN_ACK_ID', async (command) => {
    const r = await withErrors();
    await expectRefused(r, wire(command, { id: 'never-delivered', receipt: 'bad' }), 'UNKNOWN_ACK_ID');
  });

  it('refuses ACK of a message delivered to another session with UNKNOWN_ACK_ID', async () => {
    const owner = await connected();
    const queue = `/queue/${unique('theirs')}`;
    owner.send(
      wire('SUBSCRIBE', { id: 's', destination: queue, ack: 'client' }) + wire('SEND', { destination: queue }, 'x'),
    );
    const message = await owner.nextFrame();
    const thief = await withErrors();
    await expectRefused(thief, wire('ACK', { id: message.headers.ack!, receipt: 'bad' }), 'UNKNOWN_ACK_ID');
  });

  it.each([
    ['SEND', '/elsewhere/x'],
    ['SEND', '/topic/'],
    ['SEND', '/topic/a//b'],
    ['SEND', '/queue/x~user~someone'],
    ['SUBSCRIBE', '/topic/a b'],
    ['SUBSCRIBE', '/app/signal'],
    ['SUBSCRIBE', '/user/signal'],
  ])('refuses %s to %s with INVALID_DESTINATION', async (command, destination) => {
    const r = await withErrors();
    await expectRefused(r, wire(command, { destination, id: 'x', receipt: 'bad' }), 'INVALID_DESTINATION');
  });

  it.each(['/topic/room/lobby', '/user/queue/signal', '/user/queue/errors'])(
    'refuses SEND to %s with READ_ONLY_DESTINATION',
    async (destination) => {
      const r = await withErrors();
      await expectRefused(r, wire('SEND', { destination, receipt: 'bad' }, '{}'), 'READ_ONLY_DESTINATION');
    },
  );

  it('refuses SEND to an /app destination nobody serves with UNKNOWN_APP_DESTINATION', async () => {
    const r = await withErrors();
    await expectRefused(
      r,
      wire('SEND', { destination: '/app/nothing-here', receipt: 'bad' }, '{}'),
      'UNKNOWN_APP_DESTINATION',
    );
  });

  it('accepts MAX_QUEUE_DEPTH undelivered messages on a queue and refuses one more with QUEUE_FULL', async () => {
    const r = await withErrors();
    const queue = `/queue/${unique('depth')}`;
    r.send(
      wire('SEND', { destination: queue, receipt: 'one' }, 'one') +
        wire('SEND', { destination: queue, receipt: 'two' }, 'two'),
    );
    expect((await r.frames.take(2)).map(describe_)).toEqual(['RECEIPT one', 'RECEIPT two']);
    await expectRefused(r, wire('SEND', { destination: queue, receipt: 'bad' }, 'three'), 'QUEUE_FULL');
    r.send(wire('SUBSCRIBE', { id: 'q', destination: queue }));
    expect((await r.frames.take(2)).map(describe_)).toEqual(['MESSAGE one', 'MESSAGE two']);
  });

  it('reports a refused frame without receipt without a receipt-id', async () => {
    const r = await withErrors();
    r.send(wire('UNSUBSCRIBE', { id: 'never' }));
    const error = await r.nextFrame();
    expect(describe_(error)).toBe('error UNKNOWN_SUBSCRIPTION');
    expect(error.headers['content-type']).toBe('application/json');
  });
});

describe('authentication (AUTH_JWT_SECRET set)', () => {
  let authServer: TestServer;
  const secret = 'test-secret-of-sufficient-length';
  beforeAll(async () => {
    authServer = await startServer({ AUTH_JWT_SECRET: secret });
  });
  afterAll(async () => {
    await authServer.close();
  });

  const token = (sub: string | undefined, expiresIn = '1h') => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(expiresIn);
    if (sub) jwt.setSubject(sub);
    return jwt.sign(new TextEncoder().encode(secret));
  };

  it('accepts a valid token in passcode', async () => {
    const r = await rawStomp(authServer);
    raws.push(r);
    const reply = await r.connect({
      'accept-version': '1.2',
      host: 'stomprtc',
      login: 'ada',
      passcode: await token('ada'),
    });
    expect(reply.command).toBe('CONNECTED');
  });

  it('accepts a valid token as Authorization: Bearer', async () => {
    const client = await stompClient(authServer, { connectHeaders: { Authorization: `Bearer ${await token('ada')}` } });
    expect(client.peerId).toEqual(expect.any(String));
    await client.close();
  });

  it.each([
    ['no token', async () => undefined],
    [
      'a token signed with another secret',
      async () =>
        new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('other-secret')),
    ],
    ['a token without sub', async () => token(undefined)],
    ['an expired token', async () => token('ada', '-1m')],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a CONNECT with %s with AUTH_FAILED', async (_label, make) => {
    const r = await rawStomp(authServer);
    raws.push(r);
    const passcode = await make();
    r.send(wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc', ...(passcode ? { passcode } : {}) }));
    await expectFatal(r, 'AUTH_FAILED');
  });
});

describe('throttling (SEND_RATE_PER_S=5, SEND_BURST=5, THROTTLE_MAX_BACKLOG_MS=1000)', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ SEND_RATE_PER_S: '5', SEND_BURST: '5', THROTTLE_MAX_BACKLOG_MS: '1000' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('delays frames past the burst instead of dropping them: every one is processed, in order, with its RECEIPT', async () => {
    const r = await rawStomp(limited);
    raws.push(r);
    await r.connect();
    const topic = '/topic/flood';
    // Two SUBSCRIBEs and three SENDs fit the burst; the last four SENDs wait their turn at 5/s.
    r.send(
      wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
        wire('SUBSCRIBE', { id: 's', destination: topic }) +
        ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']
          .map((body, i) => wire('SEND', { destination: topic, receipt: `r${i + 1}` }, body))
          .join(''),
    );
    const frames = await r.frames.take(14);
    expect(frames.map(describe_)).toEqual(
      ['1', '2', '3', '4', '5', '6', '7'].flatMap((n) => [`MESSAGE m${n}`, `RECEIPT r${n}`]),
    );
    expect(r.socket.readyState).toBe(r.socket.OPEN);
  });

  it('holds up to THROTTLE_MAX_BACKLOG_MS of waiting frames and closes a session with one more with THROTTLE_BACKLOG_EXCEEDED', async () => {
    const atLimit = await rawStomp(limited);
    raws.push(atLimit);
    await atLimit.connect();
    // 5 in the burst, then 5 waiting = 1000 ms at 5/s: at the bound, not over it.
    atLimit.send(
      Array.from({ length: 10 }, (_, i) => wire('SEND', { destination: '/topic/backlog', receipt: `a${i}` })).join(''),
    );
    expect((await atLimit.frames.take(10)).map(describe_)).toEqual(
      Array.from({ length: 10 }, (_, i) => `RECEIPT a${i}`),
    );

    const over = await rawStomp(limited);
    raws.push(over);
    await over.connect();
    over.send(
      Array.from({ length: 11 }, (_, i) => wire('SEND', { destination: '/topic/backlog', receipt: `b${i}` })).join(''),
    );
    const frames = await over.frames.take(6);
    expect(frames.map(describe_)).toEqual([
      'RECEIPT b0',
      'RECEIPT b1',
      'RECEIPT b2',
      'RECEIPT b3',
      'RECEIPT b4',
      'ERROR THROTTLE_BACKLOG_EXCEEDED',
    ]);
    expect(frames[5]!.headers['receipt-id']).toBe('b10');
    await over.waitForClose();
  });
});

describe('throttling over SockJS (SEND_RATE_PER_S=5, SEND_BURST=5)', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ SEND_RATE_PER_S: '5', SEND_BURST: '5' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it("holds back a throttled SockJS session's next xhr_send until it takes frames again: every frame gets its RECEIPT", async () => {
    const client = await stompClient(limited, { transport: 'sockjs', errors: false });
    const inbox = client.subscribe('/topic/sockjs-flood');
    // The first batch goes out in one xhr_send and outruns the bucket; the second is sent while the first waits.
    const first = Array.from({ length: 8 }, (_, i) =>
      client.receipt((headers) => client.send('/topic/sockjs-flood', `s${i}`, headers)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = Array.from({ length: 4 }, (_, i) =>
      client.receipt((headers) => client.send('/topic/sockjs-flood', `s${8 + i}`, headers)),
    );
    await Promise.all([...first, ...second]);
    expect(inbox.messages.all.map((m) => m.body)).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`));
    expect(client.errorFrames.all).toEqual([]);
    await client.close();
  });
});

describe("throttling over SockJS's websocket transport (SEND_RATE_PER_S=5, SEND_BURST=5)", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ SEND_RATE_PER_S: '5', SEND_BURST: '5' });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('pauses the socket of a throttled SockJS websocket session: every frame gets its RECEIPT, in order', async () => {
    const received: string[] = [];
    const receipts: string[] = [];
    const client = new Client({
      webSocketFactory: () => new SockJS(limited.sockjsUrl, null, { transports: ['websocket'] }),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    await new Promise<void>((resolve) => {
      client.onConnect = () => resolve();
      client.activate();
    });
    client.subscribe('/topic/sockjs-ws-flood', (m) => received.push(m.body));
    const sent = Array.from(
      { length: 12 },
      (_, i) =>
        new Promise<void>((resolve) => {
          client.watchForReceipt(`w${i}`, () => {
            receipts.push(`w${i}`);
            resolve();
          });
          client.publish({ destination: '/topic/sockjs-ws-flood', body: `w${i}`, headers: { receipt: `w${i}` } });
        }),
    );
    await Promise.all(sent);
    expect(receipts).toEqual(Array.from({ length: 12 }, (_, i) => `w${i}`));
    expect(received).toEqual(Array.from({ length: 12 }, (_, i) => `w${i}`));
    await client.deactivate();
  });
});

describe('SLOW_CONSUMER (OUTBOUND_BUFFER_BYTES=65536)', () => {
  let slowServer: TestServer;
  beforeAll(async () => {
    slowServer = await startServer({ OUTBOUND_BUFFER_BYTES: '65536', SEND_RATE_PER_S: '100000', SEND_BURST: '100000' });
  });
  afterAll(async () => {
    await slowServer.close();
  });

  async function slowConsumerErrors(): Promise<number> {
    const metrics = await (await fetch(`${slowServer.httpUrl}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('stomprtc_errors_total{code="SLOW_CONSUMER"}'));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('closes a session that stops reading with ERROR SLOW_CONSUMER while a reading subscriber keeps getting every message', async () => {
    const topic = '/topic/firehose';
    const slow = await rawStomp(slowServer);
    raws.push(slow);
    await slow.connect();
    slow.send(wire('SUBSCRIBE', { id: 's', destination: topic, receipt: 'ready' }));
    await slow.nextFrame();
    const reader = await stompClient(slowServer);
    const readerInbox = reader.subscribe(topic);
    await reader.sync();
    const sender = await rawStomp(slowServer);
    raws.push(sender);
    await sender.connect();

    (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const chunk = 'x'.repeat(32 * 1024);
    let sent = 0;
    while ((await slowConsumerErrors()) === 0) {
      if (sent >= 2000) throw new Error('the slow session was never closed');
      for (let i = 0; i < 20; i++) sender.send(wire('SEND', { destination: topic }, `${sent++}:${chunk}`));
      await until(() => readerInbox.messages.all.length === sent, 'the reading subscriber caught up');
    }
    sender.send(wire('SEND', { destination: topic }, 'after'));
    await until(() => readerInbox.messages.all.length === sent + 1, 'the reading subscriber got the last message');
    expect(readerInbox.messages.all.map((m) => m.body.split(':')[0])).toEqual([
      ...Array.from({ length: sent }, (_, i) => String(i)),
      'after',
    ]);
    expect(reader.errorFrames.all).toEqual([]);

    // Once it reads again, the slow session finds the ERROR after what was already queued, then the close.
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.waitForClose();
    const last = slow.frames.all.at(-1)!;
    expect(describe_(last)).toBe('ERROR SLOW_CONSUMER');
    expect(slow.frames.all.filter((f) => f.command === 'MESSAGE').length).toBeLessThan(sent);
    await reader.close();
  });
});
