/**
 * The relay end to end: real servers (buildApp) with BROKER_RELAY_URL, real @stomp/stompjs
 * clients over WebSocket, real RabbitMQ. Two nodes share destinations through it; losing RabbitMQ
 * closes sessions with ERROR BROKER_UNAVAILABLE and turns /healthz to 503 until it is back.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, stompClient, type TestClient, type TestServer } from '../helpers/server.js';
import { describeWithRabbitMq, RELAY_URL } from './rabbitmq.js';

const servers: TestServer[] = [];
const clients: TestClient[] = [];
const proxies: Proxy[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

/** `quiet`: the relay logs losing RabbitMQ as an error, which these tests cause on purpose. */
async function node(relayUrl: string, quiet = false): Promise<TestServer> {
  const server = await startServer({ BROKER_RELAY_URL: relayUrl, ...(quiet ? { LOG_LEVEL: 'fatal' } : {}) });
  servers.push(server);
  return server;
}

async function client(server: TestServer): Promise<TestClient> {
  const c = await stompClient(server);
  clients.push(c);
  return c;
}

async function health(server: TestServer): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${server.httpUrl}/healthz`);
  return { status: response.status, body: await response.json() as { status: string } };
}

/** A TCP hop between the relay and RabbitMQ that a test can cut, and restore on the same port. */
interface Proxy {
  readonly url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  stop(): Promise<void>;
}

async function proxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;
  const listen = async () => {
    server = createServer((inbound) => {
      const outbound = connect({ host: hostname, port: Number(port) });
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(listenPort, '127.0.0.1', resolve));
    listenPort = (server!.address() as AddressInfo).port;
  };
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await listen();
  const p: Proxy = { url: `stomp://guest:guest@127.0.0.1:${listenPort}`, cut: close, restore: listen, stop: close };
  proxies.push(p);
  return p;
}

describeWithRabbitMq('relay: two nodes sharing RabbitMQ', () => {
  it('delivers what a client on node 2 sends to /topic and /queue subscribers on node 1', async () => {
    const [node1, node2] = [await node(RELAY_URL), await node(RELAY_URL)];
    const unique = `stomprtc-test-${randomBytes(5).toString('hex')}`;
    const [listener, sender] = [await client(node1), await client(node2)];
    let topic!: ReturnType<TestClient['subscribe']>;
    let queue!: ReturnType<TestClient['subscribe']>;
    // The RECEIPT of a relayed SUBSCRIBE comes once RabbitMQ has the subscription.
    await listener.receipt((headers) => (topic = listener.subscribe(`/topic/${unique}/x`, headers)));
    await listener.receipt((headers) => (queue = listener.subscribe(`/queue/${unique}-y`, headers)));
    sender.send(`/topic/${unique}/x`, 'to the topic', { 'content-type': 'text/plain', colour: 'blue' });
    sender.send(`/queue/${unique}-y`, 'to the queue');
    const fromTopic = await topic.next();
    expect(fromTopic.body).toBe('to the topic');
    expect(fromTopic.headers).toMatchObject({ destination: `/topic/${unique}/x`, colour: 'blue', 'content-type': 'text/plain' });
    expect((await queue.next()).body).toBe('to the queue');
    expect(sender.errors.pending).toEqual([]);
    expect(listener.errors.pending).toEqual([]);
  });

  it('closes sessions with ERROR BROKER_UNAVAILABLE and reports 503 while RabbitMQ is lost, 200 once it is back', async () => {
    const hop = await proxy(RELAY_URL);
    const server = await node(hop.url, true);
    expect((await health(server)).status).toBe(200);
    const c = await client(server);
    await c.receipt((headers) => c.subscribe(`/topic/stomprtc-test-${randomBytes(5).toString('hex')}`, headers));
    await hop.cut();
    const error = await c.errorFrames.next();
    expect(error.headers.code).toBe('BROKER_UNAVAILABLE');
    await c.closed;
    expect(await health(server)).toEqual({ status: 503, body: expect.objectContaining({ status: 'broker-unavailable' }) });
    await hop.restore();
    let status = 0;
    // The relay retries every second (reconnectDelayMs); a liveness bound, not a timing assertion.
    for (let tries = 0; tries < 40 && status !== 200; tries++) {
      status = (await health(server)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    const again = await client(server);
    await again.receipt((headers) => again.subscribe('/queue/stomprtc-test-after', headers));
  });
});

describe('relay: RabbitMQ not reachable at start-up', () => {
  it('starts, answers /healthz 503 and closes a subscribing session with ERROR BROKER_UNAVAILABLE', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const server = await node(`stomp://guest:guest@127.0.0.1:${closedPort}`, true);
    expect(await health(server)).toEqual({ status: 503, body: expect.objectContaining({ status: 'broker-unavailable' }) });
    const c = await stompClient(server, { errors: false });
    clients.push(c);
    c.subscribe('/topic/anything');
    const error = await c.errorFrames.next();
    expect(error.headers.code).toBe('BROKER_UNAVAILABLE');
    await c.closed;
  });
});
