/**
 * Messages a STOMP 1.0 session cannot carry: 1.0 has no header escaping, so a header value with a
 * line feed (or a name with a colon), which a 1.1/1.2 sender may write escaped, has no 1.0 form.
 * The broker decides per subscription at dispatch: a queue message goes to a consumer that can
 * carry it or stays queued; a topic subscriber that cannot carry one is told on /user/queue/errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawStomp, startServer, text, until, wire, type RawStomp, type TestServer } from '../helpers/server.js';

let server: TestServer;
const raws: RawStomp[] = [];
let seq = 0;

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => {
  for (const r of raws.splice(0)) r.close();
});
afterAll(async () => {
  await server.close();
});

async function session(version: '1.0' | '1.2'): Promise<RawStomp> {
  const r = await rawStomp(server, { protocols: [`v${version.replace('.', '')}.stomp`], version });
  raws.push(r);
  const reply = await r.connect({ 'accept-version': version, host: 'stomprtc' });
  expect(reply.headers.version ?? '1.0').toBe(version);
  return r;
}

async function subscribed(version: '1.0' | '1.2', destination: string, ack = 'auto'): Promise<RawStomp> {
  const r = await session(version);
  r.send(
    wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
      wire('SUBSCRIBE', { id: 's', destination, ack, receipt: 'ready' }),
  );
  expect((await r.nextFrame()).headers['receipt-id']).toBe('ready');
  return r;
}

/** N SENDs from a 1.2 session, each with receipt; even ones carry a header value with an escaped line feed. */
async function sendMixed(destination: string, count: number): Promise<void> {
  const sender = await session('1.2');
  let frames = '';
  for (let i = 0; i < count; i++) {
    const extra = i % 2 === 0 ? 'x-note:line\\nbreak\n' : '';
    frames += `SEND\ndestination:${destination}\nreceipt:r${i}\n${extra}\nm${i}\0`;
  }
  sender.send(frames);
  const receipts = await sender.frames.take(count);
  expect(receipts.map((f) => f.headers['receipt-id'])).toEqual(Array.from({ length: count }, (_, i) => `r${i}`));
}

describe('a STOMP 1.0 consumer and messages it cannot carry', () => {
  it('delivers every queue message with a RECEIPT: those with a line feed in a header go to the 1.2 consumer, none is lost', async () => {
    const queue = `/queue/mixed-${++seq}`;
    const legacy = await subscribed('1.0', queue);
    const modern = await subscribed('1.2', queue);
    await sendMixed(queue, 20);
    await until(() => legacy.frames.all.length + modern.frames.all.length >= 21, 'all 20 messages were delivered');
    const bodies = [...legacy.frames.all, ...modern.frames.all].filter((f) => f.command === 'MESSAGE').map(text);
    expect(bodies.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    expect(modern.frames.all.filter((f) => f.headers['x-note'] === 'line\nbreak')).toHaveLength(10);
    expect(legacy.frames.all.every((f) => f.headers['x-note'] === undefined)).toBe(true);
  });

  it('keeps queue messages a lone 1.0 client-ack consumer cannot carry, without blocking the ones it can', async () => {
    const queue = `/queue/blocked-${++seq}`;
    const legacy = await subscribed('1.0', queue, 'client');
    await sendMixed(queue, 10);
    const messages = await legacy.frames.take(5);
    expect(messages.map(text)).toEqual(['m1', 'm3', 'm5', 'm7', 'm9']);
    legacy.send(wire('ACK', { 'message-id': messages.at(-1)!.headers['message-id']! }));
    // A 1.2 consumer that comes later takes what was kept.
    const modern = await session('1.2');
    modern.send(wire('SUBSCRIBE', { id: 's', destination: queue, receipt: 'ready' }));
    const [kept, receipt] = [await modern.frames.take(5), await modern.nextFrame()];
    expect(kept.map(text)).toEqual(['m0', 'm2', 'm4', 'm6', 'm8']);
    expect(receipt.headers['receipt-id']).toBe('ready');
    expect(kept.every((f) => f.headers['x-note'] === 'line\nbreak')).toBe(true);
  });

  it('tells a 1.0 topic subscriber on /user/queue/errors about a message it cannot carry, and delivers it to the others', async () => {
    const topic = `/topic/mixed-${++seq}`;
    const legacy = await subscribed('1.0', topic);
    const modern = await subscribed('1.2', topic);
    await sendMixed(topic, 2);
    expect((await modern.frames.take(2)).map(text)).toEqual(['m0', 'm1']);
    const [report, message] = await legacy.frames.take(2);
    expect(report!.headers.destination).toBe('/user/queue/errors');
    expect(JSON.parse(text(report!))).toMatchObject({ code: 'UNREPRESENTABLE_HEADER' });
    expect(text(message!)).toBe('m1');
  });
});
