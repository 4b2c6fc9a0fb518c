/**
 * A node dies mid-conversation (SIGKILL: no goodbye). Its members leave every room on the other
 * nodes within the documented bound (CLUSTER_NODE_DOWN_MS + 2 × CLUSTER_HEARTBEAT_MS, docs/protocol.md
 * §11), its clients reconnect to a surviving node (connect() with several URLs), no chat message is
 * lost or duplicated, and no member list holds a ghost or a duplicate afterwards — not even on a
 * node started after the death.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { connect, type Room, type Session } from '../../client/src/index.js';
import { cluster, type Cluster } from '../helpers/cluster.js';
import { stompClient, type TestClient } from '../helpers/server.js';
import { record, sleep, waitFor } from '../client/helpers/wait.js';
import { describeWithRabbitMq, RELAY_URL } from '../contract/rabbitmq.js';

/** The defaults (config.ts): what the documented bound is stated for. */
const HEARTBEAT_MS = 2_000;
const NODE_DOWN_MS = 8_000;
const CONVERGENCE_BOUND_MS = NODE_DOWN_MS + 2 * HEARTBEAT_MS;

const sessions: Session[] = [];
const observers: TestClient[] = [];
let nodes: Cluster | undefined;

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(observers.map((o) => o.close()));
  await nodes?.stop();
});

describeWithRabbitMq('cluster: a node is SIGKILLed mid-conversation', () => {
  it('drops its members everywhere within the bound, and its clients carry on from another node losing nothing', async () => {
    nodes = cluster({ BROKER_RELAY_URL: RELAY_URL });
    const [n1, n2, n3] = await Promise.all([nodes.add(), nodes.add(), nodes.add()]);
    const id = `r-${randomBytes(4).toString('hex')}`;
    const fast = { nextDelayMs: () => 200 };
    // A starts on n1 and lists the others as where to go next.
    const sa = await connect([n1.wsUrl, n2.wsUrl, n3.wsUrl], { relayOnly: true, reconnect: fast });
    const sb = await connect(n2.wsUrl, { relayOnly: true, reconnect: fast });
    const sc = await connect(n3.wsUrl, { relayOnly: true, reconnect: fast });
    sessions.push(sa, sb, sc);
    const rooms: Room[] = [
      await sa.join(id, { name: 'a' }),
      await sb.join(id, { name: 'b' }),
      await sc.join(id, { name: 'c' }),
    ];
    const logs = rooms.map(record);
    await waitFor(() => rooms.every((r) => r.peers.length === 2), 10_000, 'three members everywhere');

    // A raw observer on n3 times the peer-left of A's session on n1.
    const observer = await stompClient(n3.wsUrl);
    observers.push(observer);
    const presence = observer.subscribe(`/topic/room/${id}`, { 'display-name': 'observer' });
    await presence.json();
    const lostId = sa.peerId;
    let killedAt = 0;
    let leftAt = 0;
    presence.messages.all.length = 0;
    const watch = setInterval(() => {
      if (
        !leftAt &&
        presence.messages.all.some(
          (m) => JSON.parse(m.body).type === 'peer-left' && JSON.parse(m.body).peer.id === lostId,
        )
      ) {
        leftAt = Date.now();
      }
    }, 20);

    const perSender = 150;
    for (let i = 0; i < perSender; i++) {
      rooms.forEach((r, k) => r.send(`${k}:${i}`));
      if (i === 50) {
        killedAt = Date.now();
        await n1.kill();
      }
      await sleep(20);
    }
    await waitFor(() => logs.every((l) => l.length >= 2 * perSender), 60_000, 'every chat message after the reconnect');
    await waitFor(() => leftAt > 0, CONVERGENCE_BOUND_MS + 10_000, "the killed session's peer-left");
    clearInterval(watch);
    const convergedMs = leftAt - killedAt;
    expect(convergedMs).toBeLessThanOrEqual(CONVERGENCE_BOUND_MS);
    expect(sa.peerId).not.toBe(lostId);

    // Every sender's messages, once each and in order, at every other member.
    rooms.forEach((_, k) =>
      rooms.forEach((__, j) => {
        if (j === k) return;
        const fromJ = logs[k]!.map((m) => m.data as string).filter((d) => d.startsWith(`${j}:`));
        expect(fromJ, `${j} → ${k}`).toEqual(Array.from({ length: perSender }, (_, i) => `${j}:${i}`));
      }),
    );

    // No ghost and no duplicate in any member list, on the surviving nodes and on a new one.
    const n4 = await nodes.add();
    const expected = [sa.peerId, sb.peerId, sc.peerId, observer.peerId].sort();
    for (const node of [n2, n3, n4]) {
      const late = await stompClient(node.wsUrl);
      observers.push(late);
      const welcome = await late.subscribe(`/topic/room/${id}`).json();
      expect(welcome.peers.map((p: { id: string }) => p.id).sort(), node.wsUrl).toEqual(expected);
      expected.push(late.peerId);
      expected.sort();
    }
    console.info(
      `cluster node death: peer-left everywhere ${convergedMs} ms after SIGKILL (bound ${CONVERGENCE_BOUND_MS} ms)`,
    );
  }, 120_000);
});
