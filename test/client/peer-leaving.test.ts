import { afterEach, describe, expect, it } from 'vitest';
import { encodeForRelay } from '../../client/src/envelope.js';
import type { Room } from '../../client/src/room.js';
import { MemoryHub } from './helpers/memory-signaling.js';
import { trackedWrtc } from './helpers/tracked-wrtc.js';
import { allDirect, waitFor } from './helpers/wait.js';

let rooms: Room[] = [];
afterEach(async () => {
  await Promise.all(rooms.map((r) => r.leave()));
  rooms = [];
});

describe('a member that says bye', () => {
  // @roamhq/wrtc can crash on a write into a channel whose far end is closing, and a member that
  // said bye closes its peer connection right after: its links must stop before that.
  it('has its link closed on our side at once, before the server says it left', async () => {
    const hub = new MemoryHub();
    const ours = trackedWrtc();
    // Without end-to-end keys a bye on the relay is plain, so the test can write one itself.
    const a = hub.join('bye', 'a', { endToEnd: false });
    rooms.push(a);
    await a.joined;
    const b = hub.join('bye', 'b', { endToEnd: false, wrtc: ours.impl });
    rooms.push(b);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    const [connection] = ours.connections;
    expect(ours.connections).toHaveLength(1);
    expect(connection!.signalingState).toBe('stable');

    // a's bye, and nothing else: a keeps its peer connection open and stays in the room.
    hub.relayAs(a, b, encodeForRelay({ kind: 'bye', from: a.clientId }));
    await waitFor(() => connection!.signalingState === 'closed', 5_000, "b to close its side of a's link");
    expect(b.peers.map((p) => p.id)).toEqual([a.self.id]);
    // And it stays closed: the bye ends the link for good, nothing starts a new one.
    await new Promise((r) => setTimeout(r, 300));
    expect(ours.connections).toHaveLength(1);
  });

  it('leaves its link as it was until it is gone: no relay link-state for a member that is leaving', async () => {
    const hub = new MemoryHub();
    const a = hub.join('leaving', 'a');
    rooms.push(a);
    await a.joined;
    const b = hub.join('leaving', 'b');
    rooms.push(b);
    await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
    const seen: string[] = [];
    b.on('link-state', (e) => seen.push(e.reason ? `${e.state}:${e.reason}` : e.state));
    b.on('peer-left', () => seen.push('peer-left'));
    await a.leave();
    rooms = rooms.filter((r) => r !== a);
    await waitFor(() => b.peers.length === 0, 5_000, 'peer-left');
    expect(seen).toEqual(['peer-left']);
  });
});
