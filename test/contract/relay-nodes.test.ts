/**
 * The relay end to end: real servers (buildApp) with BROKER_RELAY_URL, real @stomp/stompjs
 * clients over WebSocket, real RabbitMQ. Two nodes share destinations through it; losing RabbitMQ
 * keeps the sessions, refuses what needs RabbitMQ with NOT_FORWARDED, refuses CONNECT with
 * BROKER_UNAVAILABLE and turns /healthz to 503 until it is back, when subscriptions work again.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rawStomp, startServer, stompClient, type TestClient, type TestServer } from '../helpers/server.js';
import { deletePresenceStream, describeWithRabbitMq, RELAY_URL } from './rabbitmq.js';

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
  const server = await startServer({
    BROKER_RELAY_URL: relayUrl,
    CLUSTER_NAME: CLUSTER,
    ...(quiet ? { LOG_LEVEL: 'fatal' } : {}),
  });
  servers.push(server);
  return server;
}

/** A cluster of this file's own, so nodes of other suites on the same RabbitMQ do not join its rooms. */
const CLUSTER = `stomprtc-test-${randomBytes(5).toString('hex')}`;
afterAll(() => deletePresenceStream(CLUSTER));

/** A new node takes sessions once it has read the others' rooms (shared-presence.ts): at most a second. */
async function healthy(server: TestServer): Promise<void> {
  let status = 0;
  for (let tries = 0; tries < 40 && status !== 200; tries++) {
    status = (await health(server)).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 250));
  }
  expect(status).toBe(200);
}

async function client(server: TestServer): Promise<TestClient> {
  const c = await stompClient(server);
  clients.push(c);
  return c;
}

async function health(server: TestServer): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${server.httpUrl}/healthz`);
  return { status: response.status, body: (await response.json()) as { status: string } };
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
    listenPort = (server.address() as AddressInfo).port;
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
    await Promise.all([healthy(node1), healthy(node2)]);
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
    expect(fromTopic.headers).toMatchObject({
      destination: `/topic/${unique}/x`,
      colour: 'blue',
      'content-type': 'text/plain',
    });
    expect((await queue.next()).body).toBe('to the queue');
    expect(sender.errors.pending).toEqual([]);
    expect(listener.errors.pending).toEqual([]);
  });

  it('keeps its sessions while RabbitMQ is lost: NOT_FORWARDED for what needs it, CONNECT refused, 503; all back once it returns', async () => {
    const hop = await proxy(RELAY_URL);
    const server = await node(hop.url, true);
    await healthy(server);
    const topic = `/topic/stomprtc-test-${randomBytes(5).toString('hex')}`;
    const c = await client(server);
    let subscription!: ReturnType<TestClient['subscribe']>;
    await c.receipt((headers) => (subscription = c.subscribe(topic, headers)));
    await hop.cut();
    let status = 200;
    while (status === 200) status = (await health(server)).status;
    c.send(topic, 'while lost');
    expect(JSON.parse((await c.errors.next()).body)).toMatchObject({ code: 'NOT_FORWARDED' });
    expect(await health(server)).toEqual({
      status: 503,
      body: expect.objectContaining({ status: 'broker-unavailable' }),
    });
    const refused = await rawStomp(server);
    const error = await refused.connect();
    expect(error.command).toBe('ERROR');
    expect(error.headers.code).toBe('BROKER_UNAVAILABLE');
    await refused.waitForClose();
    await hop.restore();
    await healthy(server);
    expect(c.isClosed()).toBe(false);
    // The subscription made before the loss was made again upstream: a message from another session reaches it.
    const other = await client(server);
    other.send(topic, 'after');
    expect((await subscription.next()).body).toBe('after');
    expect(c.errorFrames.all).toEqual([]);
  });
});

describe('relay: RabbitMQ not reachable at start-up', () => {
  it('starts, answers /healthz 503 and refuses CONNECT with ERROR BROKER_UNAVAILABLE', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const server = await node(`stomp://guest:guest@127.0.0.1:${closedPort}`, true);
    expect(await health(server)).toEqual({
      status: 503,
      body: expect.objectContaining({ status: 'broker-unavailable' }),
    });
    const c = await rawStomp(server);
    const error = await c.connect();
    expect(error.command).toBe('ERROR');
    expect(error.headers.code).toBe('BROKER_UNAVAILABLE');
    expect(error.headers.message).toMatch(/cannot reach RabbitMQ/);
    await c.waitForClose();
  });
});
