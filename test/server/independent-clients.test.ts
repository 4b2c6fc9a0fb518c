/**
 * STOMP clients that are not ours, used as their authors document them, with no special cases on
 * the server: webstomp-client (1.2 over ws), the old stompjs@2 (1.1 and 1.0) and stompit (1.2,
 * over a ws stream). Each connects, subscribes, sends, receives, joins a room and is welcomed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { createWebSocketStream } from 'ws';
import webstomp from 'webstomp-client';
import legacy from 'stompjs/lib/stomp.js';
import stompit from 'stompit';
import { Inbox, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let seq = 0;
const unique = (name: string) => `${name}-${++seq}`;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('webstomp-client', () => {
  it('connects, subscribes, sends, receives, joins a room and is welcomed', async () => {
    const client = webstomp.over(new WebSocket(server.wsUrl, webstomp.VERSIONS.supportedProtocols()) as any, {
      debug: false,
      heartbeat: false,
    });
    const connected = await new Promise<any>((resolve, reject) =>
      client.connect({ host: 'stomprtc' }, resolve, reject),
    );
    expect(connected.headers.version).toBe('1.2');
    expect(connected.headers['user-name']).toEqual(expect.any(String));

    const topic = `/topic/${unique('webstomp')}`;
    const inbox = new Inbox<any>('webstomp MESSAGE');
    client.subscribe(topic, (m) => inbox.push(m), { receipt: 'subscribed' });
    const receipt = new Promise<any>((resolve) => (client.onreceipt = resolve));
    expect((await receipt).headers['receipt-id']).toBe('subscribed');
    client.send(topic, 'hello from webstomp', { 'x-client': 'webstomp' });
    const message = await inbox.next();
    expect(message.body).toBe('hello from webstomp');
    expect(message.headers['x-client']).toBe('webstomp');

    const room = new Inbox<any>('room MESSAGE');
    client.subscribe(`/topic/room/${unique('webstomp-room')}`, (m) => room.push(m), { 'display-name': 'webstomp' });
    const welcome = JSON.parse((await room.next()).body);
    expect(welcome).toMatchObject({ type: 'welcome', self: connected.headers['user-name'], peers: [] });
    await new Promise<void>((resolve) => client.disconnect(() => resolve()));
  });
});

describe.each([
  ['1.1', ['v11.stomp', 'v10.stomp'], () => '1.1,1.0'],
  ['1.0', ['v10.stomp'], () => '1.0'],
])('stompjs@2 speaking STOMP %s', (version, protocols, supportedVersions) => {
  const { Stomp } = legacy;

  async function connect(): Promise<{ client: any; frame: any }> {
    const original = Stomp.VERSIONS.supportedVersions;
    Stomp.VERSIONS.supportedVersions = supportedVersions;
    try {
      const client = Stomp.over(new WebSocket(server.wsUrl, protocols));
      client.heartbeat = { outgoing: 0, incoming: 0 };
      client.debug = null;
      const frame = await new Promise<any>((resolve, reject) => client.connect({ host: 'stomprtc' }, resolve, reject));
      return { client, frame };
    } finally {
      Stomp.VERSIONS.supportedVersions = original;
    }
  }

  it('connects, subscribes, sends, receives, joins a room and is welcomed', async () => {
    const { client, frame } = await connect();
    expect(frame.headers.version).toBe(version);
    const topic = `/topic/${unique('stompjs2')}`;
    const inbox = new Inbox<any>('stompjs@2 MESSAGE');
    client.subscribe(topic, (m: any) => inbox.push(m));
    client.send(topic, { 'x-client': 'stompjs2' }, `hello in ${version}`);
    const message = await inbox.next();
    expect(message.body).toBe(`hello in ${version}`);
    expect(message.headers['x-client']).toBe('stompjs2');

    const room = new Inbox<any>('room MESSAGE');
    client.subscribe(`/topic/room/${unique('stompjs2-room')}`, (m: any) => room.push(m), {
      'display-name': `stompjs ${version}`,
    });
    expect(JSON.parse((await room.next()).body)).toMatchObject({
      type: 'welcome',
      self: frame.headers['user-name'],
      peers: [],
    });
    client.disconnect();
  });

  it('acknowledges queue messages in its own dialect', async () => {
    const queue = `/queue/${unique('stompjs2-ack')}`;
    const first = await connect();
    const inbox = new Inbox<any>('queue MESSAGE');
    first.client.subscribe(queue, (m: any) => inbox.push(m), { ack: 'client' });
    first.client.send(queue, {}, 'acked');
    (await inbox.next()).ack();
    first.client.send(queue, {}, 'not acked');
    await inbox.next();
    // Frames on one connection are handled in order, so the ACK is settled before this DISCONNECT.
    await new Promise<void>((resolve) => first.client.disconnect(resolve));
    const second = await connect();
    const heir = new Inbox<any>('queue MESSAGE');
    second.client.subscribe(queue, (m: any) => heir.push(m), { ack: 'auto' });
    const redelivered = await heir.next();
    expect([redelivered.body, redelivered.headers.redelivered]).toEqual(['not acked', 'true']);
    second.client.disconnect();
  });
});

describe('stompit over a ws stream', () => {
  it('connects, subscribes, sends, receives, joins a room and is welcomed', async () => {
    const client = await new Promise<any>((resolve, reject) => {
      stompit.connect(
        {
          connect: (_options: unknown, onConnected: () => void) => {
            const socket = new WebSocket(server.wsUrl, ['v12.stomp']);
            socket.once('open', onConnected);
            return createWebSocketStream(socket);
          },
          connectHeaders: { host: 'stomprtc', 'heart-beat': '0,0' },
        },
        (err: Error | null, c: any) => (err ? reject(err) : resolve(c)),
      );
    });
    expect(client.headers?.version ?? '1.2').toBe('1.2');
    const readBody = (message: any) =>
      new Promise<string>((resolve, reject) =>
        message.readString('utf-8', (err: Error | null, body: string) => (err ? reject(err) : resolve(body))),
      );

    const topic = `/topic/${unique('stompit')}`;
    const inbox = new Inbox<{ headers: Record<string, string>; body: string }>('stompit MESSAGE');
    client.subscribe({ destination: topic }, async (err: Error | null, message: any) => {
      if (!err) inbox.push({ headers: message.headers, body: await readBody(message) });
    });
    const frame = client.send({ destination: topic, 'x-client': 'stompit', 'content-type': 'text/plain' });
    frame.write('hello from stompit');
    frame.end();
    const message = await inbox.next();
    expect(message.body).toBe('hello from stompit');
    expect(message.headers['x-client']).toBe('stompit');

    const room = new Inbox<string>('room MESSAGE');
    client.subscribe(
      { destination: `/topic/room/${unique('stompit-room')}`, 'display-name': 'stompit' },
      async (err: Error | null, m: any) => {
        if (!err) room.push(await readBody(m));
      },
    );
    expect(JSON.parse(await room.next())).toMatchObject({ type: 'welcome', peers: [], iceServers: [] });
    await new Promise<void>((resolve) => client.disconnect(() => resolve()));
  });
});
