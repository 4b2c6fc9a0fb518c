/**
 * STOMP 1.2 over real sockets with @stomp/stompjs, the same suite over WebSocket and over SockJS
 * (HTTP streaming/polling only). Each test uses destinations of its own on one shared server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IMessage } from '@stomp/stompjs';
import { startServer, stompClient, type TestClient, type TestServer, type Transport } from '../helpers/server.js';

const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };

let server: TestServer;
const open: TestClient[] = [];
let seq = 0;
const unique = (name: string) => `${name}-${++seq}`;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await server.close();
});

describe.each<Transport>(['ws', 'sockjs'])('STOMP session over %s', (transport) => {
  const connect = async (options: Parameters<typeof stompClient>[1] = {}) => {
    const client = await stompClient(server, { transport, ...options });
    open.push(client);
    return client;
  };
  const bodies = (messages: IMessage[]) => messages.map((m) => m.body);

  it('answers CONNECT with CONNECTED carrying version, heart-beat, session, server and user-name', async () => {
    const client = await connect({ heartbeatMs: 5000 });
    const headers = client.connected.headers;
    expect(headers.version).toBe('1.2');
    expect(headers['heart-beat']).toMatch(/^\d+,\d+$/);
    expect(headers.session).toEqual(expect.any(String));
    expect(headers.server).toBe(`stomprtc/${version}`);
    expect(headers['user-name']).toEqual(expect.any(String));
    expect(headers['user-name']!.length).toBeGreaterThan(0);
  });

  it('gives every session its own user-name, even for the same credentials', async () => {
    const a = await connect({ connectHeaders: { login: 'same' } });
    const b = await connect({ connectHeaders: { login: 'same' } });
    expect(a.peerId).not.toBe(b.peerId);
  });

  it('delivers a SEND to /topic to every subscriber with destination, subscription and message-id', async () => {
    const topic = `/topic/${unique('fanout')}`;
    const [a, b, sender] = [await connect(), await connect(), await connect()];
    const subA = a.subscribe(topic, { id: 'news-a' });
    const subB = b.subscribe(topic);
    await Promise.all([a.sync(), b.sync()]);
    sender.send(topic, 'hello');
    const [ma, mb] = [await subA.next(), await subB.next()];
    expect(ma.body).toBe('hello');
    expect(mb.body).toBe('hello');
    expect(ma.headers).toMatchObject({ destination: topic, subscription: 'news-a' });
    expect(ma.headers['message-id']).toEqual(expect.any(String));
    expect(mb.headers.subscription).not.toBe('news-a');
    // Auto-ack deliveries carry the message's own id (docs/protocol.md, MESSAGE).
    expect(mb.headers['message-id']).toBe(ma.headers['message-id']);
  });

  it('gives subscribers with the same subscription id the same frame, and each its own message', async () => {
    const topic = `/topic/${unique('same-id')}`;
    const [a, b, sender] = [await connect(), await connect(), await connect()];
    const subA = a.subscribe(topic, { id: 'sub-0' });
    const subB = b.subscribe(topic, { id: 'sub-0' });
    await Promise.all([a.sync(), b.sync()]);
    sender.send(topic, 'one');
    sender.send(topic, 'two');
    const received = [await subA.next(), await subA.next(), await subB.next(), await subB.next()];
    expect(received.map((m) => [m.body, m.headers.subscription, m.headers.destination])).toEqual([
      ['one', 'sub-0', topic],
      ['two', 'sub-0', topic],
      ['one', 'sub-0', topic],
      ['two', 'sub-0', topic],
    ]);
    expect(received[0]!.headers['message-id']).not.toBe(received[1]!.headers['message-id']);
    expect(received[2]!.headers['message-id']).toBe(received[0]!.headers['message-id']);
  });

  it('stops delivering to a subscription after UNSUBSCRIBE', async () => {
    const topic = `/topic/${unique('unsub')}`;
    const client = await connect();
    const leaving = client.subscribe(topic);
    const staying = client.subscribe(topic);
    await client.sync();
    client.send(topic, 'before');
    expect((await leaving.next()).body).toBe('before');
    expect((await staying.next()).body).toBe('before');
    await client.receipt((headers) => leaving.unsubscribe(headers));
    client.send(topic, 'after');
    // `staying` subscribed later, so a MESSAGE to `leaving` would have come first.
    expect((await staying.next()).body).toBe('after');
    expect(bodies(leaving.messages.all)).toEqual(['before']);
  });

  it('carries user-defined headers and content-type from SEND to MESSAGE, escaped values intact', async () => {
    const topic = `/topic/${unique('headers')}`;
    const client = await connect();
    const sub = client.subscribe(topic);
    await client.sync();
    // Not "\\c": stompjs's own unescape turns that into "\:" (the raw-wire suite checks it on our side).
    client.send(topic, '{"a":1}', { 'content-type': 'application/json', colour: 'blue', 'x-odd': 'a:b\\d\ne' });
    const message = await sub.next();
    expect(message.headers).toMatchObject({ 'content-type': 'application/json', colour: 'blue', 'x-odd': 'a:b\\d\ne' });
  });

  it('replaces message-id and subscription headers a client tries to forge on SEND', async () => {
    const topic = `/topic/${unique('forge')}`;
    const client = await connect();
    const sub = client.subscribe(topic, { id: 'real' });
    await client.sync();
    client.send(topic, 'x', { 'message-id': 'forged', subscription: 'forged', redelivered: 'true' });
    const message = await sub.next();
    expect(message.headers.subscription).toBe('real');
    expect(message.headers['message-id']).not.toBe('forged');
    expect(message.headers.redelivered).toBeUndefined();
  });

  it('answers receipts on SEND, SUBSCRIBE and UNSUBSCRIBE', async () => {
    const topic = `/topic/${unique('receipts')}`;
    const client = await connect();
    const sub = client.subscribe(topic);
    const subscribed = await client.receipt((headers) =>
      client.client.subscribe(topic, () => {}, { ...headers, id: 'second' }),
    );
    const sent = await client.receipt((headers) => client.client.publish({ destination: topic, body: 'x', headers }));
    const unsubscribed = await client.receipt((headers) => sub.unsubscribe(headers));
    for (const receipt of [subscribed, sent, unsubscribed]) expect(receipt.command).toBe('RECEIPT');
  });

  it('delivers the SENDs of a committed transaction at COMMIT, in order', async () => {
    const topic = `/topic/${unique('commit')}`;
    const [listener, sender] = [await connect(), await connect()];
    const sub = listener.subscribe(topic);
    await listener.sync();
    const tx = sender.client.begin();
    for (const body of ['t1', 't2', 't3'])
      sender.client.publish({ destination: topic, body, headers: { transaction: tx.id } });
    sender.send(topic, 'outside');
    await sender.sync();
    // Nothing of the transaction came before the frame sent outside it.
    expect((await sub.next()).body).toBe('outside');
    await sender.receipt((headers) => sender.client.publish({ destination: topic, body: 'still-outside', headers }));
    tx.commit();
    expect(bodies(await sub.messages.take(4))).toEqual(['still-outside', 't1', 't2', 't3']);
  });

  it('drops the SENDs of an aborted transaction', async () => {
    const topic = `/topic/${unique('abort')}`;
    const [listener, sender] = [await connect(), await connect()];
    const sub = listener.subscribe(topic);
    await listener.sync();
    const tx = sender.client.begin();
    sender.client.publish({ destination: topic, body: 'dropped-1', headers: { transaction: tx.id } });
    sender.client.publish({ destination: topic, body: 'dropped-2', headers: { transaction: tx.id } });
    tx.abort();
    sender.send(topic, 'after-abort');
    expect((await sub.next()).body).toBe('after-abort');
    expect(sender.errors.all).toEqual([]);
  });

  it('redelivers a NACKed queue message to another subscriber with redelivered:true', async () => {
    const queue = `/queue/${unique('nack')}`;
    const [first, second, sender] = [await connect(), await connect(), await connect()];
    const subFirst = first.subscribe(queue, { ack: 'client-individual' });
    await first.sync();
    const subSecond = second.subscribe(queue, { ack: 'client-individual' });
    await second.sync();
    sender.send(queue, 'job');
    const taken = await subFirst.next();
    expect(taken.headers.redelivered).toBeUndefined();
    taken.nack();
    const redelivered = await subSecond.next();
    expect(redelivered.body).toBe('job');
    expect(redelivered.headers.redelivered).toBe('true');
  });

  it('redelivers the unacknowledged messages of a subscriber that goes away', async () => {
    const queue = `/queue/${unique('orphan')}`;
    const [worker, sender] = [await connect(), await connect()];
    const sub = worker.subscribe(queue, { ack: 'client' });
    await worker.sync();
    sender.send(queue, 'm1');
    sender.send(queue, 'm2');
    await sub.messages.take(2);
    await worker.close();
    const heir = await connect();
    const inherited = heir.subscribe(queue, { ack: 'client' });
    const [m1, m2] = await inherited.messages.take(2);
    expect([m1?.body, m2?.body]).toEqual(['m1', 'm2']);
    expect([m1?.headers.redelivered, m2?.headers.redelivered]).toEqual(['true', 'true']);
  });

  it('settles messages with ACK: an acknowledged message is not redelivered', async () => {
    const queue = `/queue/${unique('ack')}`;
    const [worker, sender] = [await connect(), await connect()];
    const sub = worker.subscribe(queue, { ack: 'client-individual' });
    await worker.sync();
    sender.send(queue, 'done');
    sender.send(queue, 'pending');
    const [done] = await sub.messages.take(2);
    await worker.receipt((headers) => done!.ack(headers));
    await worker.close();
    const heir = await connect();
    const inherited = heir.subscribe(queue, { ack: 'client-individual' });
    sender.send(queue, 'new');
    expect(bodies(await inherited.messages.take(2))).toEqual(['pending', 'new']);
  });

  it('acknowledges cumulatively in ack mode client', async () => {
    const queue = `/queue/${unique('cumulative')}`;
    const [worker, sender] = [await connect(), await connect()];
    const sub = worker.subscribe(queue, { ack: 'client' });
    await worker.sync();
    for (const body of ['m1', 'm2', 'm3']) sender.send(queue, body);
    const messages = await sub.messages.take(3);
    await worker.receipt((headers) => messages[1]!.ack(headers));
    await worker.close();
    const heir = await connect();
    const inherited = heir.subscribe(queue, { ack: 'client' });
    sender.send(queue, 'new');
    expect(bodies(await inherited.messages.take(2))).toEqual(['m3', 'new']);
  });

  it('applies an ACK sent in a transaction only at COMMIT', async () => {
    const queue = `/queue/${unique('tx-ack')}`;
    const [worker, sender] = [await connect(), await connect()];
    const sub = worker.subscribe(queue, { ack: 'client-individual' });
    await worker.sync();
    sender.send(queue, 'aborted-ack');
    sender.send(queue, 'committed-ack');
    const [m1, m2] = await sub.messages.take(2);
    const aborted = worker.client.begin();
    m1!.ack({ transaction: aborted.id });
    aborted.abort();
    const committed = worker.client.begin();
    m2!.ack({ transaction: committed.id });
    committed.commit();
    await worker.sync();
    await worker.close();
    const heir = await connect();
    const inherited = heir.subscribe(queue, { ack: 'client-individual' });
    sender.send(queue, 'new');
    // Only the ACK of the aborted transaction was lost, so only that message comes back.
    const [again, fresh] = await inherited.messages.take(2);
    expect([again?.body, again?.headers.redelivered, fresh?.body]).toEqual(['aborted-ack', 'true', 'new']);
    expect(worker.errors.all).toEqual([]);
  });

  it('closes the session after DISCONNECT, answering its receipt first', async () => {
    const client = await connect();
    // stompjs sends DISCONNECT with a receipt and waits for it before closing.
    await client.close();
    await client.closed;
    expect(client.errorFrames.all).toEqual([]);
  });

  it('delivers /user/queue destinations to the addressed session only', async () => {
    // The server writes /user/queue/errors; a refused frame is the simplest way to make it write.
    const [a, b] = [await connect(), await connect()];
    a.send('/topic/room/not-yours', 'x');
    const error = await a.errors.next();
    expect(JSON.parse(error.body).code).toBe('READ_ONLY_DESTINATION');
    await b.sync();
    expect(b.errors.all).toEqual([]);
  });
});

describe('STOMP session over ws only', () => {
  it('carries binary bodies with NUL octets unchanged (content-length)', async () => {
    const client = await stompClient(server);
    open.push(client);
    const topic = `/topic/${unique('binary')}`;
    const sub = client.subscribe(topic);
    await client.sync();
    const payload = Uint8Array.from([0, 1, 2, 0, 255, 254, 0, 10, 13, 0]);
    client.client.publish({
      destination: topic,
      binaryBody: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const message = await sub.next();
    expect(Array.from(message.binaryBody)).toEqual(Array.from(payload));
    expect(message.headers['content-length']).toBe(String(payload.length));
    expect(message.headers['content-type']).toBe('application/octet-stream');
  });

  it('carries a text body holding NUL octets', async () => {
    const client = await stompClient(server);
    open.push(client);
    const topic = `/topic/${unique('nul-text')}`;
    const sub = client.subscribe(topic);
    await client.sync();
    client.client.publish({ destination: topic, body: 'a\0b\0c' });
    expect((await sub.next()).body).toBe('a\0b\0c');
  });
});
