import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, NEVER_RECONNECT, type Room, type Session } from '../../client/src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { allDirect, record, waitFor } from './helpers/wait.js';

let server: TestServer;
let sessions: Session[] = [];
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
});

async function open(opts: Parameters<typeof connect>[1] = {}): Promise<Session> {
  const s = await connect(server.wsUrl, { wrtc, ...opts });
  sessions.push(s);
  return s;
}

async function joinAll(n: number, roomId: string, rejoinGraceMs?: number): Promise<Room[]> {
  const rooms: Room[] = [];
  for (let i = 0; i < n; i++)
    rooms.push(await (await open()).join(roomId, { name: `peer${i}`, ...(rejoinGraceMs ? { rejoinGraceMs } : {}) }));
  return rooms;
}

describe('client against the real server', () => {
  it('connects and learns its peer id from CONNECTED', async () => {
    const s = await open();
    expect(s.state).toBe('connected');
    expect(s.peerId).not.toBe('');
  });

  it('brings two peers to p2p and delivers both ways', async () => {
    const [a, b] = await joinAll(2, 'two');
    const logA = record(a!),
      logB = record(b!);
    await waitFor(() => allDirect([a!, b!]), 30_000, 'p2p');
    a!.send('hi');
    b!.send(new Uint8Array([9, 8, 7]));
    await waitFor(() => logA.length === 1 && logB.length === 1);
    expect(logB[0]).toMatchObject({ from: a!.self.id, data: 'hi', seq: 1 });
    expect(logA[0]!.data).toEqual(new Uint8Array([9, 8, 7]));
  });

  it('brings six peers to p2p and delivers every message once, in per-sender order', async () => {
    const six = await joinAll(6, 'six');
    const logs = six.map(record);
    await waitFor(() => allDirect(six), 50_000, 'six-way p2p');
    const perSender = 40;
    for (let i = 0; i < perSender; i++) six.forEach((r, k) => r.send(`${k}:${i}`));
    await waitFor(() => logs.every((l) => l.length === perSender * 5), 30_000, 'all messages');
    six.forEach((_, k) =>
      six.forEach((sender, j) => {
        if (j === k) return;
        const got = logs[k]!.filter((m) => m.from === sender.self.id).map((m) => m.data);
        expect(got).toEqual(Array.from({ length: perSender }, (_, i) => `${j}:${i}`));
      }),
    );
  });

  it('updates presence everywhere on join, leave and crash', async () => {
    // Observers wait rejoinGraceMs for a vanished stomprtc peer to come back before peer-left.
    const [a, b] = await joinAll(2, 'presence', 500);
    const crashSession = await open({ reconnect: NEVER_RECONNECT });
    const c = await crashSession.join('presence', { name: 'crasher' });
    await waitFor(() => a!.peers.length === 2 && b!.peers.length === 2, 10_000, 'join seen');
    expect(a!.peers.map((p) => p.name).sort()).toEqual(['crasher', 'peer1']);
    const left: string[] = [];
    a!.on('peer-left', (p, reason) => left.push(`${p.name}:${reason}`));
    await b!.leave();
    await waitFor(() => a!.peers.length === 1, 10_000, 'leave seen');
    expect(left).toEqual(['peer1:left']);
    // A crash: the socket closes without DISCONNECT and without a bye.
    const cId = c.self.id;
    crashSession.dropConnection();
    await waitFor(() => a!.peers.length === 0, 30_000, 'crash seen');
    expect(left[1]).toBe('crasher:timeout');
    expect(cId).not.toBe('');
  });

  it('keeps a relay-only room on the relay and delivers', async () => {
    const sa = await open({ relayOnly: true });
    const sb = await open();
    const a = await sa.join('relay-only', { name: 'a' });
    const b = await sb.join('relay-only', { name: 'b', relayOnly: true });
    const logB = record(b);
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
    expect(a.peers[0]!.link).toBe('relay');
    for (let i = 0; i < 30; i++) a.send(`r${i}`);
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    a.send(big);
    await waitFor(() => logB.length === 31, 20_000, 'relay messages');
    expect(logB.slice(0, 30).map((m) => m.data)).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`));
    expect(logB[30]!.data).toEqual(big);
  });

  it('sends a message before the channel opens through the relay, then moves to p2p', async () => {
    const [a] = await joinAll(1, 'early');
    const logA = record(a!);
    const b = await (await open()).join('early', { name: 'late' });
    const states: string[] = [];
    b.on('link-state', (e) => states.push(e.state));
    b.send('before the channel');
    await waitFor(() => logA.length === 1, 10_000, 'early message');
    expect(logA[0]!.data).toBe('before the channel');
    await waitFor(() => allDirect([a!, b]), 30_000, 'p2p');
    b.send('after');
    await waitFor(() => logA.length === 2);
    expect(logA.map((m) => m.data)).toEqual(['before the channel', 'after']);
  });

  it('works over SockJS, relay frames included', async () => {
    const sa = await connect(server.sockjsUrl, { transport: 'sockjs', relayOnly: true });
    const sb = await connect(server.sockjsUrl, { transport: 'sockjs', relayOnly: true });
    sessions.push(sa, sb);
    const a = await sa.join('sockjs', { name: 'a' });
    const b = await sb.join('sockjs', { name: 'b' });
    const logB = record(b);
    await waitFor(() => a.peers.length === 1);
    a.send('over sockjs');
    a.send(new Uint8Array([0, 1, 2, 255]));
    await waitFor(() => logB.length === 2, 10_000);
    expect(logB[0]!.data).toBe('over sockjs');
    expect(logB[1]!.data).toEqual(new Uint8Array([0, 1, 2, 255]));
  });

  it('keeps the data channel and the conversation through a signaling reconnect', async () => {
    const sa = await open({ reconnect: { nextDelayMs: () => 100 } });
    const a = await sa.join('reconnect', { name: 'a' });
    const b = await (await open()).join('reconnect', { name: 'b' });
    const logA = record(a),
      logB = record(b);
    await waitFor(() => allDirect([a, b]), 30_000, 'p2p');
    const oldId = a.self.id;
    const reconnected: string[] = [];
    b.on('peer-reconnected', (p, prev) => reconnected.push(`${prev}->${p.id}`));
    const states: string[] = [];
    sa.on('state', (s) => states.push(s));
    for (let i = 0; i < 100; i++) {
      a.send(`a${i}`);
      b.send(`b${i}`);
      if (i === 30) sa.dropConnection();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => logA.length >= 100 && logB.length >= 100, 20_000, 'all messages');
    await new Promise((r) => setTimeout(r, 300));
    await waitFor(() => reconnected.length === 1, 10_000, 'rebinding');
    expect(logB.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    expect(logA.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `b${i}`));
    expect(states).toEqual(['reconnecting', 'connected']);
    expect(a.self.id).not.toBe(oldId);
    expect(reconnected).toEqual([`${oldId}->${a.self.id}`]);
    expect(b.peers.map((p) => p.link)).toEqual(['p2p']);
  });

  it('rejects a join the server refuses, with the server code', async () => {
    const s = await open();
    await expect(s.join('-not-a-room-id', { name: 'x' })).rejects.toMatchObject({ code: 'INVALID_ROOM_ID' });
  });
});
