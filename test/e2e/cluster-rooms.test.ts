/**
 * Rooms across nodes: three real server processes relaying to the machine's RabbitMQ, clients on
 * different nodes. The welcome, presence, signals and relay cross nodes; the room limit holds for
 * the cluster, joins racing on different nodes included; the client library chats and reaches p2p.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, type Room, type Session } from '../../client/src/index.js';
import { cluster, type Cluster, type ClusterNode } from '../helpers/cluster.js';
import { stompClient, type Subscription, type TestClient } from '../helpers/server.js';
import { allDirect, record, waitFor } from '../client/helpers/wait.js';
import { describeWithRabbitMq, RELAY_URL } from '../contract/rabbitmq.js';

const clients: TestClient[] = [];
const sessions: Session[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

async function client(node: ClusterNode): Promise<TestClient> {
  const c = await stompClient(node.wsUrl);
  clients.push(c);
  return c;
}

function roomId(): string {
  return `r-${randomBytes(4).toString('hex')}`;
}

describeWithRabbitMq('cluster: rooms across three nodes', () => {
  let nodes: Cluster;
  let n1: ClusterNode, n2: ClusterNode, n3: ClusterNode;

  beforeAll(async () => {
    nodes = cluster({ BROKER_RELAY_URL: RELAY_URL, MAX_ROOM_MEMBERS: '3' });
    [n1, n2, n3] = await Promise.all([nodes.add(), nodes.add(), nodes.add()]);
  }, 60_000);

  afterAll(async () => {
    await nodes.stop();
  });

  it('lists every member in the welcome and tells members on every node who joins and leaves', async () => {
    const room = `/topic/room/${roomId()}`;
    const [a, b, c] = [await client(n1), await client(n2), await client(n3)];
    const inA = a.subscribe(room, { 'display-name': 'Ann' });
    expect(await inA.json()).toMatchObject({ type: 'welcome', self: a.peerId, peers: [] });
    expect(await inA.json()).toEqual({ type: 'peer-joined', peer: { id: a.peerId, name: 'Ann' } });
    const inB = b.subscribe(room, { 'display-name': 'Ben' });
    expect(await inB.json()).toMatchObject({ type: 'welcome', self: b.peerId, peers: [{ id: a.peerId, name: 'Ann' }] });
    expect(await inA.json()).toEqual({ type: 'peer-joined', peer: { id: b.peerId, name: 'Ben' } });
    const inC = c.subscribe(room, { 'display-name': 'Cy' });
    const welcome = await inC.json();
    expect(welcome.peers).toEqual(
      expect.arrayContaining([
        { id: a.peerId, name: 'Ann' },
        { id: b.peerId, name: 'Ben' },
      ]),
    );
    expect(welcome.peers).toHaveLength(2);
    expect(await inA.json()).toEqual({ type: 'peer-joined', peer: { id: c.peerId, name: 'Cy' } });
    expect(await inB.json()).toMatchObject({ type: 'peer-joined', peer: { id: b.peerId } });
    expect(await inB.json()).toMatchObject({ type: 'peer-joined', peer: { id: c.peerId } });
    inB.unsubscribe();
    expect(await inA.json()).toEqual({ type: 'peer-left', peer: { id: b.peerId }, reason: 'left' });
    await inC.json(); // its own peer-joined
    expect(await inC.json()).toEqual({ type: 'peer-left', peer: { id: b.peerId }, reason: 'left' });
    await b.close();
    expect([...a.errors.pending, ...c.errors.pending]).toEqual([]);
  });

  it("carries signals and relay messages to members on other nodes, stamped by the sender's node", async () => {
    const id = roomId();
    const room = `/topic/room/${id}`;
    const [a, b, c] = [await client(n1), await client(n2), await client(n3)];
    const joined: Subscription[] = [];
    for (const member of [a, b, c]) {
      const sub = member.subscribe(room);
      await sub.json();
      joined.push(sub);
    }
    const signalsB = b.subscribe('/user/queue/signal');
    const relayA = a.subscribe('/user/queue/relay');
    const relayC = c.subscribe('/user/queue/relay');
    await Promise.all([a.sync(), b.sync(), c.sync()]);
    a.send('/app/signal', '{"sdp":"offer"}', { room: id, to: b.peerId, 'content-type': 'application/json' });
    const signal = await signalsB.next();
    expect(signal.body).toBe('{"sdp":"offer"}');
    expect(signal.headers).toMatchObject({ from: a.peerId, room: id });
    b.send('/app/relay', 'to everyone', { room: id, 'content-type': 'text/plain' });
    for (const inbox of [relayA, relayC]) {
      const relayed = await inbox.next();
      expect(relayed.body).toBe('to everyone');
      expect(relayed.headers).toMatchObject({ from: b.peerId, room: id });
    }
    c.send('/app/relay', 'just to a', { room: id, to: a.peerId });
    expect((await relayA.next()).headers).toMatchObject({ from: c.peerId });
    a.send('/app/signal', '{"sdp":"offer"}', { room: id, to: 'nobody-at-all' });
    expect(JSON.parse((await a.errors.next()).body)).toMatchObject({ code: 'UNKNOWN_PEER' });
    a.send('/app/relay', 'x', { room: id, to: `${b.peerId},nobody-at-all` });
    expect(JSON.parse((await a.errors.next()).body)).toMatchObject({ code: 'UNKNOWN_PEER' });
    await b.sync();
    expect(signalsB.messages.pending).toEqual([]);
  });

  it('holds MAX_ROOM_MEMBERS for the cluster when joins race on different nodes', async () => {
    // Four joins at once on three nodes, for a room of three, ten times over: one is refused each time.
    const members = [await client(n1), await client(n2), await client(n3), await client(n1)];
    for (let round = 0; round < 10; round++) {
      const room = `/topic/room/${roomId()}`;
      const before = members.map((m) => m.errors.all.length);
      const subs = members.map((m) => m.subscribe(room));
      await Promise.all(members.map((m) => m.sync()));
      const refused = members.filter((m, i) => m.errors.all.length > before[i]!);
      expect(refused, `round ${round}`).toHaveLength(1);
      expect(JSON.parse(refused[0]!.errors.all.at(-1)!.body)).toMatchObject({ code: 'ROOM_FULL' });
      const admitted = subs.filter((_, i) => members[i] !== refused[0]);
      const welcomes = await Promise.all(admitted.map((s) => s.json()));
      // Each welcome lists those admitted before it: 0, 1 and 2 peers, never the refused one.
      expect(welcomes.map((w) => w.peers.length).sort()).toEqual([0, 1, 2]);
      for (const w of welcomes) expect(w.peers.map((p: { id: string }) => p.id)).not.toContain(refused[0]!.peerId);
      for (const s of admitted) s.unsubscribe();
      await Promise.all(members.map((m) => m.sync()));
    }
  });

  it('lets three relay-only peers on three nodes chat, every message once and in order', async () => {
    const id = roomId();
    for (const node of [n1, n2, n3]) sessions.push(await connect(node.wsUrl, { relayOnly: true }));
    const rooms: Room[] = [];
    for (const [k, s] of sessions.entries()) rooms.push(await s.join(id, { name: `p${k}` }));
    const logs = rooms.map(record);
    await waitFor(() => rooms.every((r) => r.peers.length === 2), 10_000, 'three members everywhere');
    const perSender = 20;
    for (let i = 0; i < perSender; i++) rooms.forEach((r, k) => r.send(`${k}:${i}`));
    await waitFor(() => logs.every((l) => l.length === 2 * perSender), 20_000, 'all chat messages');
    rooms.forEach((_, k) =>
      rooms.forEach((sender, j) => {
        if (j === k) return;
        expect(logs[k]!.filter((m) => m.from === sender.self.id).map((m) => m.data)).toEqual(
          Array.from({ length: perSender }, (_, i) => `${j}:${i}`),
        );
      }),
    );
  });

  it('brings two Node peers on different nodes to p2p', async () => {
    const id = roomId();
    const [sa, sb] = [await connect(n1.wsUrl, { wrtc }), await connect(n2.wsUrl, { wrtc })];
    sessions.push(sa, sb);
    const [a, b] = [await sa.join(id, { name: 'a' }), await sb.join(id, { name: 'b' })];
    const logB = record(b);
    await waitFor(() => allDirect([a, b]), 30_000, 'p2p across nodes');
    a.send('direct');
    await waitFor(() => logB.length === 1, 10_000, 'the message');
    expect(logB[0]).toMatchObject({ from: a.self.id, data: 'direct' });
  });
});
