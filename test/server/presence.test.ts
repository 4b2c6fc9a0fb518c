/** Room membership indexed both ways, and the counts the gauges read (no server needed). */
import { describe, expect, it } from 'vitest';
import { Presence } from '../../server/src/signaling/presence.js';

const member = (id: string) => ({ id, name: id, node: 'n1' });

describe('Presence', () => {
  it('counts rooms and memberships as members come, come again and go', () => {
    const presence = new Presence();
    presence.join('a', member('p1'));
    presence.join('a', member('p2'));
    presence.join('b', member('p1'));
    // The same member again (a rejoin's new entry) replaces it: still one membership.
    presence.join('a', { ...member('p1'), name: 'renamed' });
    expect(presence.size).toEqual({ rooms: 2, memberships: 3 });
    expect(presence.member('a', 'p1')?.name).toBe('renamed');
    expect(presence.leave('a', 'p1')?.id).toBe('p1');
    expect(presence.leave('a', 'p1')).toBeUndefined();
    expect(presence.leave('c', 'p1')).toBeUndefined();
    expect(presence.size).toEqual({ rooms: 2, memberships: 2 });
    presence.leave('a', 'p2');
    presence.leave('b', 'p1');
    expect(presence.size).toEqual({ rooms: 0, memberships: 0 });
    expect(presence.roomCount('p1')).toBe(0);
  });

  it('finds both members of a room with one lookup of the room', () => {
    const presence = new Presence();
    presence.join('a', member('p1'));
    presence.join('a', member('p2'));
    const members = presence.membersById('a')!;
    expect([...members.keys()]).toEqual(['p1', 'p2']);
    expect(presence.membersById('nowhere')).toBeUndefined();
  });
});
