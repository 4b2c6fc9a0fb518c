import type { PeerId } from '../../../shared/src/signaling/messages.js';

/** A node's name on the presence log: a random id per process, plus an incarnation after a false "down". */
export type NodeKey = string;

export interface LoggedMember {
  readonly room: string;
  readonly id: PeerId;
  readonly name: string;
}

/**
 * What nodes append to the presence log. Every node applies the same entries in the same order,
 * so every node computes the same rooms and the same verdict for each join.
 */
export type PresenceEntry =
  /** A node starts: the others answer with a `sync` of their members. */
  | { readonly t: 'hello'; readonly node: NodeKey }
  /** All of `node`'s members (and its joins not yet decided): replaces what the log said of them. */
  | {
      readonly t: 'sync';
      readonly node: NodeKey;
      readonly members: readonly LoggedMember[];
      readonly pending: readonly LoggedMember[];
    }
  /** A claim: the member joins unless the room or the session is at its limit at this point of the log. */
  | ({ readonly t: 'join'; readonly node: NodeKey } & LoggedMember)
  /** The claiming node saw its claim refused; a node that applied it before it had every `sync` drops it. */
  | { readonly t: 'refused'; readonly node: NodeKey; readonly room: string; readonly id: PeerId }
  | {
      readonly t: 'leave';
      readonly node: NodeKey;
      readonly room: string;
      readonly id: PeerId;
      readonly reason: 'left' | 'disconnected';
    }
  | { readonly t: 'beat'; readonly node: NodeKey }
  /** `by` heard nothing from `node` for CLUSTER_NODE_DOWN_MS: its members are gone, and it never comes back. */
  | { readonly t: 'down'; readonly node: NodeKey; readonly by: NodeKey };

export interface PresenceLogHandlers {
  /** One entry, in log order. */
  entry(entry: PresenceEntry): void;
  /** Subscribed (again): entries flow. */
  connected(): void;
  /** Lost the log; appends throw until `connected`. */
  disconnected(): void;
}

/**
 * The totally ordered log of presence entries that every node reads: a RabbitMQ stream with the
 * relay (cluster/presence-stream.ts), or an in-process loop-back for a single node.
 */
export interface PresenceLog {
  /** False for the single-node loop-back: no heart-beats, no failure detection, no waiting for syncs. */
  readonly shared: boolean;
  readonly connected: boolean;
  start(handlers: PresenceLogHandlers): Promise<void>;
  /** Appends an entry; throws a StompRtcError when the log cannot be reached. */
  append(entry: PresenceEntry): void;
  close(): Promise<void>;
}

/** One node alone: an entry is applied the moment it is appended. */
export class LocalPresenceLog implements PresenceLog {
  readonly shared = false;
  readonly connected = true;
  #handlers: PresenceLogHandlers | undefined;

  async start(handlers: PresenceLogHandlers): Promise<void> {
    this.#handlers = handlers;
    handlers.connected();
  }

  append(entry: PresenceEntry): void {
    this.#handlers?.entry(entry);
  }

  async close(): Promise<void> {
    this.#handlers = undefined;
  }
}
