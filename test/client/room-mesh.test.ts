import { afterEach, describe, expect, it } from 'vitest';
import { MemoryHub } from './helpers/memory-signaling.js';
import { allDirect, record, waitFor } from './helpers/wait.js';
import type { Room } from '../../client/src/room.js';

let rooms: Room[] = [];
afterEach(async () => {
  await Promise.all(rooms.map((r) => r.leave()));
  rooms = [];
});

async function mesh(hub: MemoryHub, n: number, roomId = 'mesh'): Promise<Room[]> {
  for (let i = 0; i < n; i++) {
    const room = hub.join(roomId, `peer${i}`);
    rooms.push(room);
    await room.joined;
  }
  return rooms.slice(-n);
}

describe('room mesh over an in-memory signaling port', () => {
  it('brings two peers to p2p and delivers messages both ways', async () => {
    const hub = new MemoryHub();
    const [a, b] = await mesh(hub, 2);
    const logA = record(a!),
      logB = record(b!);
    await waitFor(() => allDirect([a!, b!]), 20_000, 'p2p');
    a!.send('hello b');
    b!.send(new Uint8Array([1, 2, 3]));
    await waitFor(() => logA.length === 1 && logB.length === 1);
    expect(logB[0]!.data).toBe('hello b');
    expect(logB[0]!.from).toBe(a!.self.id);
    expect(logA[0]!.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(logB[0]!.seq).toBe(1);
  });

  it('brings six peers to p2p and delivers every message to every other peer once, in per-sender order', async () => {
    const hub = new MemoryHub();
    const six = await mesh(hub, 6);
    const logs = six.map(record);
    await waitFor(() => allDirect(six), 40_000, 'six-way p2p');
    const perSender = 50;
    for (let i = 0; i < perSender; i++) six.forEach((r, k) => r.send(`${k}:${i}`));
    await waitFor(() => logs.every((l) => l.length === perSender * 5), 20_000, 'all messages');
    six.forEach((r, k) => {
      for (const [j, sender] of six.entries()) {
        if (j === k) continue;
        const got = logs[k]!.filter((m) => m.from === sender.self.id).map((m) => m.data);
        expect(got).toEqual(Array.from({ length: perSender }, (_, i) => `${j}:${i}`));
      }
    });
  });

  it('delivers a 5 MiB binary message intact', async () => {
    const hub = new MemoryHub();
    const [a, b] = await mesh(hub, 2);
    const logB = record(b!);
    await waitFor(() => allDirect([a!, b!]), 20_000, 'p2p');
    const big = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 13)) & 0xff;
    a!.send(big);
    await waitFor(() => logB.length === 1, 30_000, '5 MiB');
    const got = logB[0]!.data as Uint8Array;
    expect(got.length).toBe(big.length);
    expect(Buffer.from(got).equals(Buffer.from(big))).toBe(true);
  });

  it('sends a message before the channel opens through the relay at once', async () => {
    const hub = new MemoryHub();
    const [a] = await mesh(hub, 1);
    const b = hub.join('mesh', 'late');
    rooms.push(b);
    await b.joined;
    const logA = record(a!);
    b.send('early');
    await waitFor(() => logA.length === 1, 5_000, 'early message');
    expect(logA[0]!.data).toBe('early');
    expect(hub.relayFrames).toBeGreaterThan(0);
    await waitFor(() => allDirect([a!, b]), 20_000, 'p2p afterwards');
    b.send('later');
    await waitFor(() => logA.length === 2);
    expect(logA.map((m) => m.data)).toEqual(['early', 'later']);
  });

  it('keeps relay-only links on the relay and delivers', async () => {
    const hub = new MemoryHub();
    const a = hub.join('ro', 'a', { relayOnly: true });
    const b = hub.join('ro', 'b', { relayOnly: true });
    rooms.push(a, b);
    await Promise.all([a.joined, b.joined]);
    const logB = record(b);
    await waitFor(() => a.peers.length === 1);
    expect(a.peers[0]!.link).toBe('relay');
    for (let i = 0; i < 20; i++) a.send(`m${i}`);
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    a.send(big);
    await waitFor(() => logB.length === 21, 10_000);
    expect(logB.slice(0, 20).map((m) => m.data)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(logB[20]!.data).toEqual(big);
  });

  it('settles links toward a relay-only peer on the relay at once, with no failure, in both join orders', async () => {
    const hub = new MemoryHub();
    const events: Array<{ who: string; peerId: string; state: string }> = [];
    const watch = (r: Room, who: string) =>
      r.on('link-state', (e) => {
        events.push({ who, peerId: e.peerId, state: `${e.state}${e.reason ? `:${e.reason}` : ''}` });
      });
    const first = hub.join('ro-mixed', 'webrtc-first');
    watch(first, 'first');
    await first.joined;
    const relayOnly = hub.join('ro-mixed', 'relay-only', { relayOnly: true });
    await relayOnly.joined;
    const last = hub.join('ro-mixed', 'webrtc-last');
    watch(last, 'last');
    await last.joined;
    rooms.push(first, relayOnly, last);
    const states = () => events.filter((e) => e.peerId === relayOnly.self.id).map((e) => `${e.who}:${e.state}`);
    const linkToRelayOnly = (r: Room) => r.peers.find((p) => p.id === relayOnly.self.id)?.link;
    await waitFor(
      () => linkToRelayOnly(first) === 'relay' && linkToRelayOnly(last) === 'relay',
      10_000,
      'relay toward the relay-only peer',
    );
    await waitFor(() => allDirectBetween(first, last), 20_000, 'p2p between the WebRTC peers');
    const log = record(relayOnly);
    first.send('from first');
    last.send('from last');
    await waitFor(() => log.length === 2, 5_000);
    expect(log.map((m) => m.data).sort()).toEqual(['from first', 'from last']);
    // Each link starts 'connecting' (on the welcome side the hello may settle it before join() returns)
    // and settles on the relay for the reason 'relay-only', never through an ICE failure.
    expect(
      states()
        .filter((s) => !s.endsWith(':connecting'))
        .sort(),
    ).toEqual(['first:relay:relay-only', 'last:relay:relay-only']);
    expect(states()).toContain('first:connecting');
    const reports = hub.reports.filter((r) => r.peer === relayOnly.self.id && r.tier === 'relay');
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((r) => r.failure === null)).toBe(true);
  });
});

function allDirectBetween(x: Room, y: Room): boolean {
  return (
    x.peers.find((p) => p.id === y.self.id)?.link === 'p2p' && y.peers.find((p) => p.id === x.self.id)?.link === 'p2p'
  );
}
