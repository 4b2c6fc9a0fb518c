import { afterEach, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { MemoryHub } from './helpers/memory-signaling.js';
import { trackedWrtc } from './helpers/tracked-wrtc.js';
import { allDirect, record, sleep, waitFor } from './helpers/wait.js';
import type { Room } from '../../client/src/room.js';

/**
 * Makes every data channel of @roamhq/wrtc swallow what it is given, as a channel over a dead
 * path does: it stays `open`, bufferedAmount stays 0, nothing arrives and nothing is reported.
 */
function blackholeDataChannels(): { restore(): void } {
  const proto = (wrtc as unknown as { RTCDataChannel: { prototype: { send(data: unknown): void } } }).RTCDataChannel
    .prototype;
  // The prototype's own method goes back as it was, unbound, so it is taken off unbound.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const send = proto.send;
  proto.send = () => undefined;
  return {
    restore: () => {
      proto.send = send;
    },
  };
}

let rooms: Room[] = [];
afterEach(async () => {
  await Promise.all(rooms.map((r) => r.leave()));
  rooms = [];
});

describe('continuity across path switches and signaling reconnects', () => {
  it('delivers every message exactly once, in order, while channels are cut and signaling drops', async () => {
    const hub = new MemoryHub();
    const { impl, connections } = trackedWrtc();
    const a = hub.join('c', 'a', { wrtc: impl, rejoinGraceMs: 10_000 });
    await a.joined;
    const b = hub.join('c', 'b', { wrtc: impl, rejoinGraceMs: 10_000 });
    await b.joined;
    rooms.push(a, b);
    const logA = record(a),
      logB = record(b);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    const total = 600;
    const cuts = new Set([100, 250, 450]);
    for (let i = 0; i < total; i++) {
      a.send(`a${i}`);
      b.send(`b${i}`);
      if (cuts.has(i)) for (const pc of connections) if (pc.connectionState !== 'closed') pc.close();
      if (i === 350) await hub.reconnect(a, 100);
      await sleep(3);
    }
    await waitFor(() => logA.length >= total && logB.length >= total, 40_000, 'all messages');
    await sleep(300);
    expect(logB.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => `a${i}`));
    expect(logA.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => `b${i}`));
    expect(a.peers.map((p) => p.id)).toEqual([b.self.id]);
    expect(b.peers.map((p) => p.id)).toEqual([a.self.id]);
  });

  it('falls back to the relay when the channel closes and returns to p2p in the background', async () => {
    const hub = new MemoryHub();
    const { impl, connections } = trackedWrtc();
    const a = hub.join('f', 'a', { wrtc: impl });
    await a.joined;
    const b = hub.join('f', 'b', { wrtc: impl });
    await b.joined;
    rooms.push(a, b);
    const states: string[] = [];
    a.on('link-state', (e) => states.push(`${e.state}${e.reason ? `:${e.reason}` : ''}`));
    const logB = record(b);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    for (const pc of connections) pc.close();
    await waitFor(() => a.peers[0]?.link === 'relay', 10_000, 'relay fallback');
    a.send('while on relay');
    await waitFor(() => logB.length === 1, 5_000);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p again');
    expect(states).toContain('relay:channel-closed');
    expect(states.at(-1)).toBe('p2p');
  });

  it('sends relay-first messages to a late joiner exactly once even when relay frames are lost', async () => {
    const hub = new MemoryHub();
    const a = hub.join('l', 'a', { relayOnly: true });
    const b = hub.join('l', 'b', { relayOnly: true });
    rooms.push(a, b);
    await Promise.all([a.joined, b.joined]);
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
    const logB = record(b);
    hub.dropRelay = true;
    for (let i = 0; i < 10; i++) a.send(`m${i}`);
    await sleep(500);
    hub.dropRelay = false;
    await waitFor(() => logB.length === 10, 10_000, 'retransmitted messages');
    await sleep(2500);
    expect(logB.map((m) => m.data)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it('moves to the relay when an open channel stops carrying data, resends what it had not acknowledged, and returns to p2p', async () => {
    const hub = new MemoryHub();
    const a = hub.join('s', 'a');
    await a.joined;
    const b = hub.join('s', 'b');
    await b.joined;
    rooms.push(a, b);
    const states: string[] = [];
    a.on('link-state', (e) => states.push(`${e.state}${e.reason ? `:${e.reason}` : ''}`));
    const logA = record(a),
      logB = record(b);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    const hole = blackholeDataChannels();
    try {
      for (let i = 0; i < 50; i++) {
        a.send(`a${i}`);
        b.send(`b${i}`);
        await sleep(20);
      }
      await waitFor(() => logA.length === 50 && logB.length === 50, 20_000, 'messages resent over the relay');
      expect(states).toContain('relay:channel-closed');
    } finally {
      hole.restore();
    }
    await waitFor(() => allDirect([a, b]), 30_000, 'p2p again');
    for (let i = 50; i < 100; i++) {
      a.send(`a${i}`);
      b.send(`b${i}`);
    }
    await waitFor(() => logA.length >= 100 && logB.length >= 100, 20_000, 'all messages');
    await sleep(300);
    expect(logB.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`));
    expect(logA.map((m) => m.data)).toEqual(Array.from({ length: 100 }, (_, i) => `b${i}`));
    await waitFor(() => allDirect([a, b]), 30_000, 'p2p at the end');
  });

  it('never takes a member that reconnects under a new peer id for a plain peer, however late its hello', async () => {
    const hub = new MemoryHub();
    const a = hub.join('p', 'a', { rejoinGraceMs: 10_000 });
    await a.joined;
    const b = hub.join('p', 'b', { rejoinGraceMs: 10_000 });
    await b.joined;
    rooms.push(a, b);
    const logA = record(a);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    // Every relay frame is lost for longer than PLAIN_PEER_DETECT_MS after a's signaling
    // reconnect, so b hears nothing from a's new peer id but its data channel keeps working.
    hub.dropRelay = true;
    await hub.reconnect(a, 50);
    for (let i = 0; i < 40; i++) {
      b.send(`b${i}`);
      await sleep(100);
    }
    hub.dropRelay = false;
    for (let i = 40; i < 60; i++) b.send(`b${i}`);
    await waitFor(() => b.peers.length === 1 && b.peers[0]!.id === a.self.id, 10_000, 'a known under its new id');
    await waitFor(() => logA.length >= 60, 20_000, 'all messages');
    b.send('last');
    await waitFor(() => logA.length >= 61, 10_000, 'last message');
    await sleep(500);
    expect(logA.map((m) => m.data)).toEqual([...Array.from({ length: 60 }, (_, i) => `b${i}`), 'last']);
    expect(logA.every((m) => m.id !== undefined && m.seq !== undefined)).toBe(true);
  });
});
