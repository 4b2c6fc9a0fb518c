/**
 * RabbitMQ goes away for 10 s (`rabbitmqctl stop_app`, then `start_app`) under two nodes with a
 * room split across them. No node exits; /healthz answers 503 and is back to 200 within 10 s of
 * RabbitMQ's return; the room works again without any client rejoining (same sessions, and what
 * was sent meanwhile arrives once); every /queue message acknowledged before the outage is
 * delivered after it.
 *
 * This suite runs its own RabbitMQ node (test/helpers/private-rabbitmq.ts): the machine's node is
 * shared by every suite running at the same time, and stopping it would break them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Room, type Session } from '../../client/src/index.js';
import { cluster, waitForHealth, type Cluster } from '../helpers/cluster.js';
import { privateRabbitMqMissing, startPrivateRabbitMq, type PrivateRabbitMq } from '../helpers/private-rabbitmq.js';
import { describeWith } from '../helpers/requirements.js';
import { stompClient, type TestClient } from '../helpers/server.js';
import { record, sleep, waitFor } from '../client/helpers/wait.js';

const OUTAGE_MS = 10_000;
/** The bound for /healthz to return after RabbitMQ does (back-off is capped at 2 s). */
const RECOVERY_BOUND_MS = 10_000;

let rabbit: PrivateRabbitMq | undefined;
let nodes: Cluster | undefined;
const sessions: Session[] = [];
const clients: TestClient[] = [];

describeWith(privateRabbitMqMissing(), 'cluster: RabbitMQ stops for 10 s and comes back', () => {
  beforeAll(async () => {
    rabbit = await startPrivateRabbitMq();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.close()));
    await nodes?.stop();
    await rabbit?.stop();
  }, 60_000);

  it('keeps every node up, reports 503 then 200, heals the room without rejoining and delivers every acknowledged queue message', async () => {
    nodes = cluster({ BROKER_RELAY_URL: rabbit!.stompUrl, LOG_LEVEL: 'fatal' }, rabbit!.nodeName);
    const [n1, n2] = await Promise.all([nodes.add(), nodes.add()]);
    const id = `r-${randomBytes(4).toString('hex')}`;
    const sa = await connect(n1.wsUrl, { relayOnly: true });
    const sb = await connect(n2.wsUrl, { relayOnly: true });
    sessions.push(sa, sb);
    const rooms: Room[] = [await sa.join(id, { name: 'a' }), await sb.join(id, { name: 'b' })];
    const logs = rooms.map(record);
    await waitFor(() => rooms.every((r) => r.peers.length === 1), 10_000, 'both members');
    const peerIds = [sa.peerId, sb.peerId];

    // Acknowledged queue messages: each RECEIPT came after RabbitMQ confirmed the message.
    const queue = `/queue/stomprtc-test-${randomBytes(5).toString('hex')}`;
    const producer = await stompClient(n1.wsUrl);
    clients.push(producer);
    const sent = Array.from({ length: 20 }, (_, i) => `q${i}`);
    for (const body of sent) await producer.receipt((headers) => producer.send(queue, body, headers));

    await rabbit!.stopApp();
    const stoppedAt = Date.now();
    await Promise.all([waitForHealth(n1, 503, 10_000), waitForHealth(n2, 503, 10_000)]);
    // Chat goes on during the outage: what cannot be forwarded now is sent again by the clients.
    let i = 0;
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      rooms.forEach((r, k) => r.send(`${k}:${i}`));
      i++;
      await sleep(100);
    }
    expect([n1.process.exitCode, n2.process.exitCode]).toEqual([null, null]);
    await rabbit!.startApp();
    const recovered = await Promise.all([
      waitForHealth(n1, 200, RECOVERY_BOUND_MS),
      waitForHealth(n2, 200, RECOVERY_BOUND_MS),
    ]);
    for (let more = 0; more < 10; more++, i++) rooms.forEach((r, k) => r.send(`${k}:${i}`));
    const perSender = i;
    await waitFor(() => logs.every((l) => l.length >= perSender), 30_000, 'every chat message after the outage');
    expect([sa.peerId, sb.peerId]).toEqual(peerIds);
    expect(logs[1]!.map((m) => m.data)).toEqual(Array.from({ length: perSender }, (_, k) => `0:${k}`));
    expect(logs[0]!.map((m) => m.data)).toEqual(Array.from({ length: perSender }, (_, k) => `1:${k}`));

    // A newcomer on either node sees both members: the shared presence healed too.
    for (const node of [n1, n2]) {
      const late = await stompClient(node.wsUrl);
      clients.push(late);
      const welcome = await late.subscribe(`/topic/room/${id}`).json();
      expect(welcome.peers.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(peerIds));
    }

    const consumer = await stompClient(n2.wsUrl);
    clients.push(consumer);
    const inbox = consumer.subscribe(queue);
    const received = [];
    for (const _ of sent) received.push((await inbox.next()).body);
    expect(received).toEqual(sent);
    expect([n1.process.exitCode, n2.process.exitCode]).toEqual([null, null]);
    console.info(`cluster RabbitMQ outage: /healthz back to 200 ${Math.max(...recovered)} ms after start_app`);
  }, 120_000);
});
