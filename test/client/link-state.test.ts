import { afterEach, describe, expect, it } from 'vitest';
import { MemoryHub } from './helpers/memory-signaling.js';
import { waitFor } from './helpers/wait.js';
import type { Room } from '../../client/src/room.js';

let rooms: Room[] = [];
afterEach(async () => {
  await Promise.all(rooms.map((r) => r.leave()));
  rooms = [];
});

/** Every link-state a room emits, as "state" or "state:reason". */
function states(room: Room): string[] {
  const log: string[] = [];
  room.on('link-state', (e) => log.push(e.reason ? `${e.state}:${e.reason}` : e.state));
  return log;
}

async function pair(
  optsA: Parameters<MemoryHub['join']>[2],
  optsB: Parameters<MemoryHub['join']>[2],
): Promise<{ a: Room; b: Room; logA: string[]; logB: string[] }> {
  const hub = new MemoryHub();
  const a = hub.join('ls', 'a', optsA);
  rooms.push(a);
  const logA = states(a);
  await a.joined;
  const b = hub.join('ls', 'b', optsB);
  rooms.push(b);
  await b.joined;
  // What the application can listen to once join() resolved: b's link toward a was in the welcome.
  const logB = states(b);
  return { a, b, logA, logB };
}

describe('link-state', () => {
  it('starts with connecting on both sides and ends on p2p', async () => {
    const { logA, logB } = await pair({}, {});
    await waitFor(() => logA.at(-1) === 'p2p' && logB.at(-1) === 'p2p', 20_000, 'p2p');
    expect(logA).toEqual(['connecting', 'p2p']);
    expect(logB).toEqual(['connecting', 'p2p']);
  });

  it('says relay with reason relay-only from the start for a relay-only member, and on the other side once it hears so', async () => {
    const { logA, logB } = await pair({}, { relayOnly: true, wrtc: undefined });
    await waitFor(() => logA.length === 2 && logB.length === 1, 10_000, 'relay');
    expect(logB).toEqual(['relay:relay-only']);
    expect(logA).toEqual(['connecting', 'relay:relay-only']);
  });

  it('says relay with reason unsupported without a WebRTC implementation', async () => {
    const { a, logA, logB } = await pair({ wrtc: undefined }, {});
    await waitFor(() => logA.length === 1 && logB.at(-1) === 'relay:unsupported', 10_000, 'relay');
    expect(logA).toEqual(['relay:unsupported']);
    // b learnt of a from its welcome: a's hello may come before join() returned, and then the
    // first link-state b can hear is already the settled one.
    expect([['connecting', 'relay:unsupported'], ['relay:unsupported']]).toContainEqual(logB);
    expect(a.peers.map((p) => p.link)).toEqual(['relay']);
  });
});
