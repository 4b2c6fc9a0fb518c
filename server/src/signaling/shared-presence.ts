import { randomBytes } from 'node:crypto';
import type { PeerId } from '../../../shared/src/signaling/messages.js';
import { Presence, type Member } from './presence.js';
import type { LoggedMember, NodeKey, PresenceEntry, PresenceLog } from './presence-log.js';

export interface SharedPresenceLimits {
  readonly maxRoomMembers: number;
  readonly maxRoomsPerSession: number;
  /** How often this node appends a `beat`, in ms. */
  readonly clusterHeartbeatMs: number;
  /** Silence after which this node appends `down` for another, in ms. */
  readonly clusterNodeDownMs: number;
}

/** Longest wait of a new node for the others' syncs before it decides joins. */
const SYNC_SETTLE_MS = 1_000;

/** NOT_FORWARDED: the log was lost before the claim's verdict came back. */
export type JoinRefusal = 'ROOM_FULL' | 'TOO_MANY_ROOMS' | 'NOT_FORWARDED';

/** What the rooms hear as the log is applied; the same on every node, in the same order. */
export interface PresenceListener {
  joined(room: string, member: Member): void;
  left(room: string, member: Member, reason: 'left' | 'disconnected'): void;
  /** Only for this node's own claims. */
  refused(room: string, peerId: PeerId, code: JoinRefusal): void;
}

/**
 * Rooms shared by every node (Phoenix's Tracker, ordered by RabbitMQ): each node keeps a replica of
 * every room's members built from one presence log that all nodes append to and all read in the
 * same order (a RabbitMQ stream). Joins are claims decided where they land in the log, so two
 * joins racing on two nodes get the same verdict everywhere and a room never passes its limit.
 * Deltas travel as they happen (a join is in every replica one log round trip later); `beat`s
 * every CLUSTER_HEARTBEAT_MS let the others append `down` for a node silent for
 * CLUSTER_NODE_DOWN_MS, which removes its members everywhere. A node key is random per process,
 * so a restarted node never brings old members back. A new node says `hello`; the others answer
 * with a `sync` of their members, and it takes joins once they had a heart-beat's time to do so.
 */
export class SharedPresence {
  /** Every node's members, as the log has them. signals.ts, relay.ts and reports.ts read it. */
  readonly view = new Presence();
  readonly #log: PresenceLog;
  readonly #limits: SharedPresenceLimits;
  readonly #nodeId = randomBytes(6).toString('base64url');
  #incarnation = 0;
  readonly #listeners: Array<Partial<PresenceListener>> = [];
  /** Tells every listener, in the order they listened. */
  readonly #emit: PresenceListener = {
    joined: (room, member) => this.#listeners.forEach((l) => l.joined?.(room, member)),
    left: (room, member, reason) => this.#listeners.forEach((l) => l.left?.(room, member, reason)),
    refused: (room, peerId, code) => this.#listeners.forEach((l) => l.refused?.(room, peerId, code)),
  };
  /** This node's members (granted claims), by `room|id`: what its `sync` says. */
  readonly #local = new Map<string, LoggedMember>();
  /** This node's claims appended and not yet decided. */
  readonly #pending = new Map<string, LoggedMember>();
  /** When each other node was last heard from (this node's clock). */
  readonly #lastHeard = new Map<NodeKey, number>();
  /** Nodes declared down: their entries are ignored for good. */
  readonly #down = new Set<NodeKey>();
  /** Nodes this node has appended `down` for, so it does so once. */
  readonly #suspected = new Set<NodeKey>();
  #ready = false;
  #readyWaiters: Array<() => void> = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  #everConnected = false;

  constructor(log: PresenceLog, limits: SharedPresenceLimits) {
    this.#log = log;
    this.#limits = limits;
  }

  get node(): NodeKey {
    return `${this.#nodeId}.${this.#incarnation}`;
  }

  /** Reading the log, and (for a new node) past the time the others had to send their syncs. */
  get available(): boolean {
    return this.#log.connected && this.#ready;
  }

  listen(listener: Partial<PresenceListener>): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    await this.#log.start({
      entry: (entry) => this.#apply(entry),
      connected: () => this.#connected(),
      disconnected: () => this.#disconnected(),
    });
    if (this.#log.shared) {
      this.#heartbeat = setInterval(() => this.#tick(), this.#limits.clusterHeartbeatMs);
      this.#heartbeat.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#readyTimer);
    await this.#log.close();
  }

  /** Resolves once this node may decide joins (at once for a single node). */
  whenReady(): Promise<void> {
    return this.#ready ? Promise.resolve() : new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Claims a place in the room; the listener hears `joined` or `refused`. Throws when the log is unreachable. */
  claim(room: string, id: PeerId, name: string): void {
    const member = { room, id, name };
    this.#pending.set(key(room, id), member);
    try {
      this.#log.append({ t: 'join', node: this.node, ...member });
    } catch (err) {
      this.#pending.delete(key(room, id));
      throw err;
    }
  }

  /** Whether this node has a claim in flight for the member. */
  claiming(room: string, id: PeerId): boolean {
    return this.#pending.has(key(room, id));
  }

  /** Claims in flight for the room, so a node does not claim more places than are left. */
  pendingIn(room: string): number {
    let count = 0;
    for (const member of this.#pending.values()) if (member.room === room) count++;
    return count;
  }

  /**
   * The member leaves. Never throws: a session's teardown calls it, and with the log unreachable
   * the leave is applied here alone — the `sync` this node appends when the log is back tells the others.
   */
  leave(room: string, id: PeerId, reason: 'left' | 'disconnected'): void {
    if (!this.#local.delete(key(room, id))) return;
    if (this.#log.connected) {
      try {
        return this.#log.append({ t: 'leave', node: this.node, room, id, reason });
      } catch {
        // Lost between the check and the append: as if it had been lost before.
      }
    }
    const member = this.view.member(room, id);
    if (member && this.view.leave(room, id)) this.#emit.left(room, member, reason);
  }

  #connected(): void {
    const now = Date.now();
    // Silence while this node could not read the log says nothing about the others.
    for (const node of this.#lastHeard.keys()) this.#lastHeard.set(node, now);
    this.#suspected.clear();
    // Back after losing the log: the others may hold stale members of this node, and this node
    // may have missed entries, so it lists its own members and asks for theirs.
    if (this.#everConnected) this.#appendSync();
    this.#everConnected = true;
    this.#append({ t: 'hello', node: this.node });
    if (!this.#log.shared) this.#becomeReady();
  }

  /**
   * Claims in flight get no verdict now: they are refused here, and one that reaches the log after
   * all is given back when it is applied (#applyJoin), so no session waits on a lost claim.
   */
  #disconnected(): void {
    const lost = [...this.#pending.values()];
    this.#pending.clear();
    for (const { room, id } of lost) this.#emit.refused(room, id, 'NOT_FORWARDED');
  }

  #tick(): void {
    if (!this.#log.connected) return;
    this.#append({ t: 'beat', node: this.node });
    const now = Date.now();
    for (const [node, heard] of this.#lastHeard) {
      if (now - heard > this.#limits.clusterNodeDownMs && !this.#suspected.has(node)) {
        this.#suspected.add(node);
        this.#append({ t: 'down', node, by: this.node });
      }
    }
  }

  #apply(entry: PresenceEntry): void {
    const from = entry.t === 'down' ? entry.by : entry.node;
    if (this.#down.has(from)) return;
    if (from !== this.node) this.#lastHeard.set(from, Date.now());
    switch (entry.t) {
      case 'hello':
        if (entry.node === this.node) {
          // The others answer a hello the moment they read it: a second (or a heart-beat, if shorter)
          // is ample for their syncs to land behind it.
          if (this.#log.shared && !this.#ready) {
            clearTimeout(this.#readyTimer);
            this.#readyTimer = setTimeout(
              () => this.#becomeReady(),
              Math.min(this.#limits.clusterHeartbeatMs, SYNC_SETTLE_MS),
            );
          }
        } else if (this.#local.size + this.#pending.size > 0) {
          this.#appendSync();
        }
        return;
      case 'sync':
        return this.#applySync(entry.node, entry.members, entry.pending);
      case 'join':
        return this.#applyJoin(entry.node, entry);
      case 'refused': {
        const member = this.view.member(entry.room, entry.id);
        if (member?.node === entry.node && this.view.leave(entry.room, entry.id))
          this.#emit.left(entry.room, member, 'left');
        return;
      }
      case 'leave': {
        const member = this.view.member(entry.room, entry.id);
        if (member?.node === entry.node && this.view.leave(entry.room, entry.id))
          this.#emit.left(entry.room, member, entry.reason);
        return;
      }
      case 'beat':
        return;
      case 'down':
        return this.#applyDown(entry.node);
    }
  }

  #applyJoin(node: NodeKey, claim: LoggedMember): void {
    const { room, id, name } = claim;
    const mine = node === this.node && this.#pending.delete(key(room, id));
    if (this.view.member(room, id)) return;
    const refusal: JoinRefusal | undefined =
      this.view.memberCount(room) >= this.#limits.maxRoomMembers
        ? 'ROOM_FULL'
        : this.view.roomCount(id) >= this.#limits.maxRoomsPerSession
          ? 'TOO_MANY_ROOMS'
          : undefined;
    if (refusal) {
      if (!mine) return;
      this.#append({ t: 'refused', node, room, id });
      this.#emit.refused(room, id, refusal);
      return;
    }
    const member: Member = { id, name, node };
    this.view.join(room, member);
    if (mine) this.#local.set(key(room, id), claim);
    this.#emit.joined(room, member);
    // A claim of this node refused when the log was lost, granted after all: given back at once.
    if (node === this.node && !mine) this.#append({ t: 'leave', node, room, id, reason: 'disconnected' });
  }

  #applySync(node: NodeKey, members: readonly LoggedMember[], pending: readonly LoggedMember[]): void {
    const listed = new Set([...members, ...pending].map((m) => key(m.room, m.id)));
    for (const [room, member] of this.view.membershipsOf(node)) {
      if (!listed.has(key(room, member.id)) && this.view.leave(room, member.id))
        this.#emit.left(room, member, 'disconnected');
    }
    for (const { room, id, name } of members) {
      if (this.view.member(room, id)) continue;
      const member: Member = { id, name, node };
      this.view.join(room, member);
      this.#emit.joined(room, member);
    }
  }

  #applyDown(node: NodeKey): void {
    if (node === this.node) {
      // This node was silent too long (its link to RabbitMQ, not the node, was down): the others
      // dropped its members, so it comes back as a new incarnation and lists them again.
      this.#down.add(node);
      this.#incarnation++;
      for (const [room, member] of this.view.membershipsOf(node)) {
        if (this.view.leave(room, member.id)) this.#emit.left(room, member, 'disconnected');
      }
      this.#appendSync();
      return;
    }
    this.#down.add(node);
    this.#lastHeard.delete(node);
    this.#suspected.delete(node);
    for (const [room, member] of this.view.membershipsOf(node)) {
      if (this.view.leave(room, member.id)) this.#emit.left(room, member, 'disconnected');
    }
  }

  #appendSync(): void {
    this.#append({
      t: 'sync',
      node: this.node,
      members: [...this.#local.values()],
      pending: [...this.#pending.values()],
    });
  }

  /** Appends of the node's own bookkeeping; a lost log is healed by the sync on reconnect. */
  #append(entry: PresenceEntry): void {
    try {
      this.#log.append(entry);
    } catch {
      // The log is unreachable; `#connected` appends a sync when it is back.
    }
  }

  #becomeReady(): void {
    this.#ready = true;
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
  }
}

function key(room: string, id: PeerId): string {
  return `${room}|${id}`;
}
