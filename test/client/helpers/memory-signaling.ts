/**
 * An in-memory stand-in for the server's room, signal and relay handling, so Room instances in
 * one process can be cross-wired through their RoomPort seam. Delivery is asynchronous and FIFO
 * per addressee, like a socket.
 */
import wrtc from '@roamhq/wrtc';
import { createRoom, type Room, type RoomOptions } from '../../../client/src/room.js';
import type { LinkReport, PeerId, RoomInbound, RoomPort } from '../../../client/src/room-port.js';

/** The server's defaults (server/src/config.ts), announced in every welcome. */
const MEMORY_LIMITS = { relayMaxBytes: 49152, signalMaxBytes: 16384, maxRoomMembers: 8 } as const;

interface Member {
  id: PeerId;
  readonly name: string;
  readonly roomId: string;
  readonly inbound: RoomInbound;
  connected: boolean;
  epoch: number;
  readonly room: Room;
}

export class MemoryHub {
  readonly reports: LinkReport[] = [];
  /** When set, relay frames are silently dropped (a lossy relay). */
  dropRelay = false;
  relayFrames = 0;
  #next = 0;
  readonly #rooms = new Map<string, Map<PeerId, Member>>();

  join(roomId: string, name: string, opts: Partial<RoomOptions> = {}): Room {
    let member!: Member;
    const port: RoomPort = {
      get epoch() {
        return member.connected ? member.epoch : undefined;
      },
      sendSignal: (to, signal) =>
        this.#forward(member, to, (m) => m.inbound.signal(member.id, JSON.parse(JSON.stringify(signal)))),
      sendRelay: (to, body) => {
        if (!member.connected) return false;
        this.relayFrames++;
        if (this.dropRelay) return true;
        return this.#forward(member, to, (m) => m.inbound.relay(member.id, body));
      },
      sendReport: (r) => {
        this.reports.push(r);
      },
      leave: async () => {
        this.#remove(member);
      },
    };
    const { room, inbound } = createRoom(port, {
      roomId,
      name,
      wrtc,
      relayOnly: false,
      ...opts,
    });
    member = { id: `p${++this.#next}`, name, roomId, inbound, connected: true, epoch: 1, room };
    this.#admit(member);
    return room;
  }

  /** The member's signaling drops (peer-left to others) and comes back under a new peer id. */
  async reconnect(room: Room, downMs = 50): Promise<void> {
    const member = this.#memberOf(room);
    this.#remove(member);
    member.connected = false;
    member.inbound.signalingLost();
    await new Promise((r) => setTimeout(r, downMs));
    member.connected = true;
    member.epoch++;
    member.id = `p${++this.#next}`;
    this.#admit(member);
  }

  /** Relays `body` to `to` as if `from` had sent it (what a member writes by itself, at a chosen moment). */
  relayAs(from: Room, to: Room, body: string): void {
    const sender = this.#memberOf(from);
    const target = this.#memberOf(to);
    later(() => target.inbound.relay(sender.id, body));
  }

  /** The member vanishes from the server without a bye (a crash of its signaling). */
  crash(room: Room): void {
    const member = this.#memberOf(room);
    member.connected = false;
    this.#remove(member);
  }

  #memberOf(room: Room): Member {
    for (const members of this.#rooms.values()) for (const m of members.values()) if (m.room === room) return m;
    throw new Error('room not in hub');
  }

  #admit(member: Member): void {
    let members = this.#rooms.get(member.roomId);
    if (!members) this.#rooms.set(member.roomId, (members = new Map()));
    const peers = [...members.values()].map((m) => ({ id: m.id, name: m.name }));
    members.set(member.id, member);
    later(() =>
      member.inbound.welcome({ type: 'welcome', self: member.id, peers, iceServers: [], limits: MEMORY_LIMITS }),
    );
    for (const m of members.values()) later(() => m.inbound.peerJoined({ id: member.id, name: member.name }));
  }

  #remove(member: Member): void {
    const members = this.#rooms.get(member.roomId);
    if (!members?.delete(member.id)) return;
    for (const m of members.values()) later(() => m.inbound.peerLeft(member.id));
  }

  #forward(from: Member, to: PeerId, deliver: (m: Member) => void): boolean {
    if (!from.connected) return false;
    const target = this.#rooms.get(from.roomId)?.get(to);
    if (!target) {
      later(() => from.inbound.error({ code: 'UNKNOWN_PEER', message: `no member ${to}` }));
      return true;
    }
    later(() => deliver(target));
    return true;
  }
}

function later(fn: () => void): void {
  setImmediate(fn);
}
