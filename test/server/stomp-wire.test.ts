/**
 * The session on the raw wire: literal STOMP strings in, frames decoded by our own FrameDecoder
 * out. Covers what a library client hides: receipts on every frame kind, version negotiation,
 * STOMP 1.0 and 1.1 frames, the STOMP command, subprotocols and header escaping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompFrame } from '../../shared/src/stomp/frame.js';
import { rawStomp, startServer, text, wire, type RawStomp, type TestServer } from '../helpers/server.js';

let server: TestServer;
const open: RawStomp[] = [];
let seq = 0;
const unique = (name: string) => `${name}-${++seq}`;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const raw of open) raw.close();
  await server.close();
});

async function connected(
  options: Parameters<typeof rawStomp>[1] = {},
  headers?: Record<string, string>,
): Promise<RawStomp> {
  const raw = await rawStomp(server, options);
  open.push(raw);
  const reply = await raw.connect(headers);
  expect(reply.command).toBe('CONNECTED');
  return raw;
}

function summary(frame: StompFrame): string {
  if (frame.command === 'RECEIPT') return `RECEIPT ${frame.headers['receipt-id']}`;
  if (frame.command === 'MESSAGE') return `MESSAGE ${text(frame)}`;
  return `${frame.command} ${frame.headers.code ?? ''}`.trim();
}

describe('receipts', () => {
  it('answers a receipt on every kind of client frame, in order', async () => {
    const raw = await connected();
    const queue = `/queue/${unique('receipts')}`;
    raw.send(
      wire('SUBSCRIBE', { id: 's1', destination: queue, ack: 'client-individual', receipt: 'subscribe' }) +
        wire('SEND', { destination: queue, receipt: 'send' }, 'm1') +
        wire('BEGIN', { transaction: 't1', receipt: 'begin' }) +
        wire('SEND', { destination: queue, transaction: 't1', receipt: 'send-in-tx' }, 'm2') +
        wire('COMMIT', { transaction: 't1', receipt: 'commit' }) +
        wire('BEGIN', { transaction: 't2', receipt: 'begin-2' }) +
        wire('ABORT', { transaction: 't2', receipt: 'abort' }),
    );
    expect((await raw.frames.take(9)).map(summary)).toEqual([
      'RECEIPT subscribe',
      'MESSAGE m1',
      'RECEIPT send',
      'RECEIPT begin',
      'RECEIPT send-in-tx',
      'MESSAGE m2',
      'RECEIPT commit',
      'RECEIPT begin-2',
      'RECEIPT abort',
    ]);
    const [m1, m2] = raw.frames.all.filter((f) => f.command === 'MESSAGE');
    raw.send(
      wire('ACK', { id: m1!.headers.ack!, receipt: 'ack' }) + wire('NACK', { id: m2!.headers.ack!, receipt: 'nack' }),
    );
    // The NACKed message comes straight back to the only subscriber, before the NACK's receipt.
    expect((await raw.frames.take(3)).map(summary)).toEqual(['RECEIPT ack', 'MESSAGE m2', 'RECEIPT nack']);
    raw.send(wire('UNSUBSCRIBE', { id: 's1', receipt: 'unsubscribe' }) + wire('DISCONNECT', { receipt: 'disconnect' }));
    expect((await raw.frames.take(2)).map(summary)).toEqual(['RECEIPT unsubscribe', 'RECEIPT disconnect']);
    expect(await raw.waitForClose()).toBe(1000);
  });

  it('closes the connection after the RECEIPT of a DISCONNECT, and sends nothing after it', async () => {
    const raw = await connected();
    raw.send(wire('DISCONNECT', { receipt: 'bye' }));
    await raw.waitForClose();
    expect(raw.frames.all.map(summary)).toEqual(['CONNECTED', 'RECEIPT bye']);
  });
});

describe('CONNECT', () => {
  it('accepts STOMP as an alias of CONNECT', async () => {
    const raw = await rawStomp(server);
    open.push(raw);
    raw.send('STOMP\naccept-version:1.2\nhost:stomprtc\n\n\0');
    const reply = await raw.nextFrame();
    expect(reply.command).toBe('CONNECTED');
    expect(reply.headers.version).toBe('1.2');
  });

  it('picks the highest version both sides speak', async () => {
    const raw = await rawStomp(server);
    open.push(raw);
    const reply = await raw.connect({ 'accept-version': '1.0,1.1', host: 'stomprtc' });
    expect(reply.headers.version).toBe('1.1');
  });

  it('treats a CONNECT without accept-version as STOMP 1.0', async () => {
    const raw = await rawStomp(server, { protocols: ['v10.stomp'], version: '1.0' });
    open.push(raw);
    const reply = await raw.connect({ host: 'stomprtc' });
    expect(reply.headers.version).toBe('1.0');
  });

  it('offers heart-beats and answers a client that asks for none without sending any', async () => {
    const raw = await connected({}, { 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,0' });
    expect(raw.frames.all[0]?.headers['heart-beat']).toMatch(/^\d+,\d+$/);
  });
});

describe('WebSocket subprotocols', () => {
  it.each([
    [['v10.stomp'], 'v10.stomp'],
    [['v11.stomp'], 'v11.stomp'],
    [['v10.stomp', 'v11.stomp', 'v12.stomp'], 'v12.stomp'],
    [['v10.stomp', 'v11.stomp'], 'v11.stomp'],
  ])('offered %j, picks %s', async (offered, picked) => {
    const raw = await rawStomp(server, { protocols: offered });
    open.push(raw);
    expect(raw.protocol).toBe(picked);
  });

  it('serves a client that offers no subprotocol', async () => {
    const raw = await rawStomp(server, { protocols: [] });
    open.push(raw);
    expect(raw.protocol).toBe('');
    expect((await raw.connect()).command).toBe('CONNECTED');
  });
});

describe('STOMP 1.2 frames on the wire', () => {
  it('round-trips escaped header values, including "\\\\c" which is a backslash then c', async () => {
    const raw = await connected();
    const topic = `/topic/${unique('escape')}`;
    raw.send(wire('SUBSCRIBE', { id: 's', destination: topic }));
    raw.send(wire('SEND', { destination: topic, 'x-value': 'a\\\\c\\cd\\ne\\rf' }, 'x'));
    const message = await raw.nextFrame();
    expect(message.headers['x-value']).toBe('a\\c:d\ne\rf');
  });

  it('uses the first of repeated headers', async () => {
    const raw = await connected();
    const topic = `/topic/${unique('repeat')}`;
    raw.send(wire('SUBSCRIBE', { id: 's', destination: topic }));
    raw.send(`SEND\ndestination:${topic}\nx-colour:red\nx-colour:blue\n\nx\0`);
    expect((await raw.nextFrame()).headers['x-colour']).toBe('red');
  });

  it('sends MESSAGE with content-length, so a body may hold NUL octets', async () => {
    const raw = await connected();
    const topic = `/topic/${unique('sized')}`;
    raw.send(wire('SUBSCRIBE', { id: 's', destination: topic }));
    raw.send(`SEND\ndestination:${topic}\ncontent-length:5\n\na\0b\0c\0`);
    const message = await raw.nextFrame();
    expect(message.headers['content-length']).toBe('5');
    expect(Array.from(message.body)).toEqual([97, 0, 98, 0, 99]);
  });

  it('reads frames packed in one message and frames split across messages, with EOLs between them', async () => {
    const raw = await connected();
    const topic = `/topic/${unique('packing')}`;
    const frames =
      wire('SUBSCRIBE', { id: 's', destination: topic }) +
      '\n\r\n' +
      wire('SEND', { destination: topic }, 'one') +
      '\n' +
      wire('SEND', { destination: topic }, 'two');
    const cut = frames.length - 7;
    raw.send(frames.slice(0, cut));
    raw.send(frames.slice(cut));
    expect((await raw.frames.take(2)).map(text)).toEqual(['one', 'two']);
  });
});

describe('STOMP 1.1', () => {
  it('acknowledges with message-id and subscription, and NACK redelivers', async () => {
    const raw = await connected({ protocols: ['v11.stomp'] }, { 'accept-version': '1.1', host: 'stomprtc' });
    expect(raw.frames.all[0]?.headers.version).toBe('1.1');
    const queue = `/queue/${unique('v11')}`;
    raw.send(wire('SUBSCRIBE', { id: 's', destination: queue, ack: 'client-individual' }));
    raw.send(wire('SEND', { destination: queue }, 'first') + wire('SEND', { destination: queue }, 'second'));
    const [first, second] = await raw.frames.take(2);
    raw.send(wire('ACK', { 'message-id': first!.headers['message-id']!, subscription: 's', receipt: 'acked' }));
    raw.send(wire('NACK', { 'message-id': second!.headers['message-id']!, subscription: 's', receipt: 'nacked' }));
    const [ack, again, nack] = await raw.frames.take(3);
    expect(summary(ack!)).toBe('RECEIPT acked');
    expect([text(again!), again!.headers.redelivered]).toEqual(['second', 'true']);
    expect(summary(nack!)).toBe('RECEIPT nacked');
  });
});

describe('STOMP 1.0', () => {
  it('subscribes without an id, acknowledges by message-id and unsubscribes by destination', async () => {
    const raw = await connected({ protocols: ['v10.stomp'], version: '1.0' }, { host: 'stomprtc' });
    expect(raw.frames.all[0]?.headers.version).toBe('1.0');
    const queue = `/queue/${unique('v10')}`;
    raw.send(wire('SUBSCRIBE', { destination: queue, ack: 'client', receipt: 'subscribed' }));
    expect(summary(await raw.nextFrame())).toBe('RECEIPT subscribed');
    raw.send(wire('SEND', { destination: queue }, 'hello 1.0'));
    const message = await raw.nextFrame();
    expect(text(message)).toBe('hello 1.0');
    expect(message.headers.destination).toBe(queue);
    raw.send(wire('ACK', { 'message-id': message.headers['message-id']!, receipt: 'acked' }));
    expect(summary(await raw.nextFrame())).toBe('RECEIPT acked');
    raw.send(wire('UNSUBSCRIBE', { destination: queue, receipt: 'unsubscribed' }));
    expect(summary(await raw.nextFrame())).toBe('RECEIPT unsubscribed');
    // Nothing is redelivered: the ACK settled the message before the subscription went.
    const other = await connected({ protocols: ['v10.stomp'], version: '1.0' }, { host: 'stomprtc' });
    other.send(wire('SUBSCRIBE', { destination: queue }) + wire('SEND', { destination: queue }, 'fresh'));
    expect(text(await other.nextFrame())).toBe('fresh');
  });

  it('does not escape header values: a backslash is an ordinary octet', async () => {
    const raw = await connected({ protocols: ['v10.stomp'], version: '1.0' }, { host: 'stomprtc' });
    const topic = `/topic/${unique('v10-escape')}`;
    raw.send(
      wire('SUBSCRIBE', { destination: topic }) + wire('SEND', { destination: topic, 'x-path': 'C:\\temp\\t' }, 'x'),
    );
    expect((await raw.nextFrame()).headers['x-path']).toBe('C:\\temp\\t');
  });
});

describe('text and binary WebSocket messages', () => {
  it('sends a MESSAGE as text when its body is UTF-8 and as binary when not, whichever kind the SEND came in', async () => {
    const raw = await connected();
    const topic = `/topic/${unique('kinds')}`;
    const kinds: string[] = [];
    raw.socket.on('message', (_data: Buffer, isBinary: boolean) => kinds.push(isBinary ? 'binary' : 'text'));
    raw.send(wire('SUBSCRIBE', { id: 's', destination: topic, receipt: 'sub' }));
    await raw.nextFrame();
    kinds.length = 0;
    const send = (body: Buffer) =>
      Buffer.concat([Buffer.from(`SEND\ndestination:${topic}\ncontent-length:${body.length}\n\n`), body, Buffer.of(0)]);
    // In a text message (its UTF-8 checked by ws), in a binary one, and not UTF-8 at all (binary only).
    raw.socket.send(send(Buffer.from('héllo, text')).toString('utf8'));
    raw.socket.send(send(Buffer.from('héllo, binary')));
    raw.socket.send(send(Buffer.of(0xff, 0xfe, 0x00, 0x80)));
    // One frame begun in a text message and finished in a binary one is not known to be text.
    const split = send(Buffer.of(0x61, 0xff, 0xfe));
    raw.socket.send(split.subarray(0, split.length - 3).toString('utf8'));
    raw.socket.send(split.subarray(split.length - 3));
    const bodies = (await raw.frames.take(4)).map((f) => Buffer.from(f.body));
    expect(bodies.map((b) => b.toString('hex'))).toEqual([
      Buffer.from('héllo, text').toString('hex'),
      Buffer.from('héllo, binary').toString('hex'),
      'fffe0080',
      '61fffe',
    ]);
    expect(kinds).toEqual(['text', 'text', 'binary', 'binary']);
  });
});
