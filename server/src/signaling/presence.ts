import type { PeerId, PeerInfo } from '../../../shared/src/signaling/messages.js';

export interface Member extends PeerInfo {
  /** The node the member's session is on (presence-log.ts NodeKey). */
  readonly node: string;
}

/**
 * Room membership indexed both ways (as socket.io's Adapter does): room → members for fan-out
 * and checks, session → rooms so a closing session is cleaned up in O(its rooms). It holds every
 * node's members; shared-presence.ts keeps it in step with the presence log.
 */
export class Presence {
  readonly #rooms = new Map<string, Map<PeerId, Member>>();
  readonly #roomsOfPeer = new Map<PeerId, Set<string>>();
  /** Kept as members come and go: the gauges read it at every join, which must not walk every room. */
  #memberships = 0;

  join(roomId: string, member: Member): void {
    let members = this.#rooms.get(roomId);
    if (!members) this.#rooms.set(roomId, (members = new Map<string, Member>()));
    if (!members.has(member.id)) this.#memberships++;
    members.set(member.id, member);
    let rooms = this.#roomsOfPeer.get(member.id);
    if (!rooms) this.#roomsOfPeer.set(member.id, (rooms = new Set()));
    rooms.add(roomId);
  }

  leave(roomId: string, peerId: PeerId): Member | undefined {
    const members = this.#rooms.get(roomId);
    const member = members?.get(peerId);
    if (!members || !member) return undefined;
    members.delete(peerId);
    this.#memberships--;
    if (members.size === 0) this.#rooms.delete(roomId);
    const rooms = this.#roomsOfPeer.get(peerId)!;
    rooms.delete(roomId);
    if (rooms.size === 0) this.#roomsOfPeer.delete(peerId);
    return member;
  }

  member(roomId: string, peerId: PeerId): Member | undefined {
    return this.#rooms.get(roomId)?.get(peerId);
  }

  /** The room's members by id (one lookup of the room for several checks); undefined when it has none. */
  membersById(roomId: string): ReadonlyMap<PeerId, Member> | undefined {
    return this.#rooms.get(roomId);
  }

  members(roomId: string): Member[] {
    return [...(this.#rooms.get(roomId)?.values() ?? [])];
  }

  memberCount(roomId: string): number {
    return this.#rooms.get(roomId)?.size ?? 0;
  }

  roomCount(peerId: PeerId): number {
    return this.#roomsOfPeer.get(peerId)?.size ?? 0;
  }

  /** Every membership of the node's sessions, for when that node is gone. */
  membershipsOf(node: string): Array<[room: string, member: Member]> {
    const found: Array<[string, Member]> = [];
    for (const [room, members] of this.#rooms) {
      for (const member of members.values()) if (member.node === node) found.push([room, member]);
    }
    return found;
  }

  get size(): { rooms: number; memberships: number } {
    return { rooms: this.#rooms.size, memberships: this.#memberships };
  }
}
