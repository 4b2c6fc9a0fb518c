/**
 * The conversation with one remote member: its identity (peer id, which changes on its signaling
 * reconnects, and client id, which does not), the WebRTC link, the outbox toward it and the
 * reorder buffer from it, and the choice of path for each envelope.
 */
import { ReorderBuffer } from './reorder.js';
import { Outbox } from './outbox.js';
import type { SplitMessage } from './chunker.js';
import {
  decodeEnvelope, encodeForChannel, encodeForRelay, type ClientId, type Envelope,
} from './envelope.js';
import { PeerLink, type LinkFailure, type LinkTier, type PeerLinkHandlers, type PeerLinkOptions } from './peer-link.js';
import type { PeerId, RoomPort } from './room-port.js';
import {
  ACK_DELAY_MS, CHANNEL_ACK_TIMEOUT_MS, HELLO_RETRY_MS, OUTBOX_MAX_ENVELOPES, PLAIN_PEER_DETECT_MS, RELAY_RETRANSMIT_MS,
} from './limits.js';

/** unknown until the remote says hello or signals with our marker; plain peers speak no envelope. */
export type RemoteKind = 'unknown' | 'stomprtc' | 'plain';

export interface Peer {
  /** Current peer id (changes when the peer's signaling session reconnects). */
  readonly id: PeerId;
  readonly name: string;
  readonly link: LinkTier;
}

export interface IncomingMessage {
  readonly data: string | Uint8Array;
  readonly id?: string;
  readonly seq?: number;
}

/** What a RemotePeer needs from its Room. */
export interface RemoteContext {
  readonly cid: ClientId;
  readonly port: RoomPort;
  /** We make no peer connections (announced in our hellos); undefined when we do. */
  readonly noWebrtc: 'relay-only' | 'unsupported' | undefined;
  /** A stomprtc member is in its rejoin grace: an unknown newcomer may be it, under a new id. */
  awaitingRejoin(): boolean;
  /** Paced relay write; false when no token is available or the relay is down. */
  relaySend(to: PeerId, body: string): boolean;
  /** Binds a client id to this remote; returns the remote that owns the conversation now. */
  learnCid(remote: RemotePeer, cid: ClientId): RemotePeer;
  deliver(remote: RemotePeer, msg: IncomingMessage): void;
  tierChanged(remote: RemotePeer, tier: LinkTier, failure: LinkFailure | null): void;
  streamChanged(remote: RemotePeer, stream: MediaStream | null): void;
  byeReceived(remote: RemotePeer): void;
  debug(msg: string): void;
}

interface PendingMessage { readonly id: string; readonly data: string | Uint8Array; readonly split: SplitMessage }

export class RemotePeer {
  cid: ClientId | undefined;
  kind: RemoteKind = 'unknown';
  name: string;
  link: PeerLink;
  saidBye = false;
  graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly previousIds = new Set<PeerId>();
  readonly outbox: Outbox;
  readonly inbox = new ReorderBuffer();
  readonly createdAt = Date.now();
  /** Start of the plain-peer detection window: restarted while our signaling is down. */
  #unknownSince = Date.now();
  /** Last time the outbox's cumulative ack advanced (channel liveness). */
  #ackProgressAt = 0;
  /** Data arrived over the relay since the last ack we sent: ack over the relay too, since our
   * channel may be the broken half (the sender moved to the relay because our acks stopped). */
  #ackViaRelay = false;
  #lastTickAt = 0;
  #peerId: PeerId;
  #pending: PendingMessage[] = [];
  readonly #recentIds = new Set<string>();
  #lastHelloAt = 0;
  #ackDue = false;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #pumpTimer: ReturnType<typeof setTimeout> | undefined;
  #destroyed = false;
  readonly linkHandlers: PeerLinkHandlers = {
    signal: (signal) => { this.ctx.port.sendSignal(this.#peerId, signal); },
    data: (data) => this.receiveFrame(data),
    tier: (tier, failure) => {
      this.ctx.tierChanged(this, tier, failure);
      if (this.kind === 'stomprtc') {
        if (tier === 'p2p' || tier === 'turn') this.sayHello(true);
        this.pump();
      }
    },
    stream: (stream) => this.ctx.streamChanged(this, stream),
  };

  constructor(peerId: PeerId, name: string, linkOptions: PeerLinkOptions, private readonly ctx: RemoteContext) {
    this.#peerId = peerId;
    this.name = name;
    this.outbox = new Outbox(ctx.cid);
    this.link = new PeerLink(linkOptions, this.linkHandlers);
  }

  get peerId(): PeerId { return this.#peerId; }
  set peerId(next: PeerId) {
    if (next === this.#peerId) return;
    this.previousIds.add(this.#peerId);
    this.#peerId = next;
  }

  get info(): Peer { return { id: this.#peerId, name: this.name, link: this.link.tier }; }

  /** Queues (or, for a plain peer, writes) one message. Throws OUTBOX_FULL at the bound. */
  enqueue(id: string, data: string | Uint8Array, split: SplitMessage): void {
    if (this.kind === 'plain') { this.#sendRaw(data); return; }
    this.outbox.assertRoom({ ...split, parts: [...this.#pending.flatMap((p) => p.split.parts), ...split.parts] });
    if (this.kind === 'unknown') { this.#pending.push({ id, data, split }); return; }
    this.#enqueueOnce(id, split);
    this.pump();
  }

  /**
   * A broadcast made while a reconnecting member had both its old entry and a stand-in under its
   * new peer id reached both; the recent-id set keeps the merge from sending it twice.
   */
  #enqueueOnce(id: string, split: SplitMessage): void {
    if (this.#recentIds.has(id)) return;
    this.outbox.enqueue(id, split);
    this.#recentIds.add(id);
    if (this.#recentIds.size > OUTBOX_MAX_ENVELOPES) this.#recentIds.delete(this.#recentIds.values().next().value!);
  }

  /** Room-level check before a broadcast, so a send either queues everywhere or nowhere. */
  assertRoom(split: SplitMessage): void {
    if (this.kind !== 'plain') this.outbox.assertRoom(split);
  }

  becomeStomprtc(cid: ClientId): void {
    this.cid = cid;
    this.kind = 'stomprtc';
    this.absorbPending(this);
    this.pump();
  }

  /** Moves messages queued before the remote's identity was known into this outbox. */
  absorbPending(from: RemotePeer): void {
    const pending = from.#pending;
    from.#pending = [];
    for (const p of pending) {
      try {
        this.#enqueueOnce(p.id, p.split);
      } catch (err) {
        this.ctx.debug(`dropping pending message ${p.id}: ${String(err)}`);
      }
    }
  }

  /** Only an unknown remote can become plain: one that has spoken envelopes never does. */
  becomePlain(): void {
    if (this.kind !== 'unknown') return;
    this.kind = 'plain';
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) this.#sendRaw(p.data);
  }

  /** Takes over another object's link (after learning both are the same client). */
  adoptLink(link: PeerLink): void {
    this.link.destroy();
    this.link = link;
    link.handlers = this.linkHandlers;
    this.ctx.tierChanged(this, link.tier, link.failure);
    if (link.remoteStream) this.ctx.streamChanged(this, link.remoteStream);
  }

  /** A frame from the data channel or the relay. */
  receiveFrame(frame: string | Uint8Array, viaRelay = false): void {
    if (this.#destroyed) return;
    const env = decodeEnvelope(frame);
    if (!env) {
      // Not an envelope: a peer on plain simple-peer. Delivered as-is, without id or seq.
      if (this.kind === 'unknown') this.becomePlain();
      this.ctx.deliver(this, { data: frame });
      return;
    }
    this.ctx.learnCid(this, env.from).handleEnvelope(env, viaRelay);
  }

  handleEnvelope(env: Envelope, viaRelay = false): void {
    switch (env.kind) {
      case 'data': {
        if (env.ack !== undefined) this.#acked(env.ack);
        const { messages } = this.inbox.accept(env);
        for (const m of messages) this.ctx.deliver(this, { data: m.data, id: m.id, seq: m.seq });
        if (viaRelay) this.#ackViaRelay = true;
        this.#scheduleAck();
        return;
      }
      case 'ack': this.#acked(env.ack); return;
      case 'hello':
        if (env.noWebrtc) this.link.remoteHasNoWebrtc(env.noWebrtc);
        if (!env.knowsYou) this.sayHello(true, viaRelay);
        return;
      case 'bye': this.saidBye = true; this.ctx.byeReceived(this); return;
    }
  }

  /**
   * viaRelay: a hello after our signaling reconnect must come from our new peer id, which only
   * the relay shows (the data channel still belongs to the old one).
   */
  sayHello(knowsYou: boolean, viaRelay = false): void {
    this.#lastHelloAt = Date.now();
    const env: Envelope = {
      kind: 'hello', from: this.ctx.cid, knowsYou, ...(this.ctx.noWebrtc ? { noWebrtc: this.ctx.noWebrtc } : {}),
    };
    if (viaRelay) this.#sendRelayControl(env);
    else this.#sendControl(env);
  }

  /** On both paths: the relay copy reaches the server before our UNSUBSCRIBE, so the others
   * see the bye before peer-left. */
  sayBye(): void {
    if (this.kind !== 'stomprtc') return;
    const env: Envelope = { kind: 'bye', from: this.ctx.cid };
    if (this.link.channelOpen) this.link.send(encodeForChannel(env));
    this.#sendRelayControl(env);
  }

  /** Periodic duties: hello until identified, plain-peer detection, channel liveness, relay
   * retransmission. */
  tick(now: number): void {
    if (this.kind === 'unknown') {
      // Hellos cannot arrive while our signaling is down, nor be told apart from a rejoining
      // member's while one is in its grace: neither counts towards the plain-peer window.
      if (this.ctx.port.epoch === undefined || this.ctx.awaitingRejoin()) this.#unknownSince = now;
      if (now - this.#unknownSince >= PLAIN_PEER_DETECT_MS) this.becomePlain();
      else if (now - this.#lastHelloAt >= HELLO_RETRY_MS) this.sayHello(false);
    }
    // A tick that comes late (a blocked event loop) runs before the acks that queued up meanwhile.
    const punctual = now - this.#lastTickAt < CHANNEL_ACK_TIMEOUT_MS / 2;
    this.#lastTickAt = now;
    if (this.kind !== 'stomprtc') return;
    if (punctual && this.link.channelOpen && this.ctx.port.epoch !== undefined && this.#channelSilent(now)) {
      this.link.stall(`no ack progress for ${CHANNEL_ACK_TIMEOUT_MS} ms`);
    }
    this.pump();
  }

  /** The window of the plain-peer detection starts again (our signaling just came back). */
  restartDetection(now: number): void { this.#unknownSince = now; }

  /**
   * Envelopes written to the open channel have seen no ack progress for CHANNEL_ACK_TIMEOUT_MS:
   * the channel is not carrying data (a dead path keeps bufferedAmount at 0 and the channel open).
   */
  #channelSilent(now: number): boolean {
    const path = this.link.pathId;
    for (const entry of this.outbox.entries()) {
      if (entry.sentOn !== path) continue;
      return now - Math.max(entry.sentAt, this.#ackProgressAt) >= CHANNEL_ACK_TIMEOUT_MS;
    }
    return false;
  }

  #acked(upTo: number): void {
    const before = this.outbox.acked;
    this.outbox.ack(upTo);
    if (this.outbox.acked > before) this.#ackProgressAt = Date.now();
  }

  /** The path id an envelope written now would travel on, or undefined when none is up. */
  #path(): { id: string; channel: boolean } | undefined {
    if (this.link.channelOpen) return { id: this.link.pathId, channel: true };
    const epoch = this.ctx.port.epoch;
    return epoch === undefined ? undefined : { id: `relay:${epoch}:${this.#peerId}`, channel: false };
  }

  /**
   * Writes what the current path has not carried: every unacked envelope after a path change,
   * relay envelopes again after RELAY_RETRANSMIT_MS, then any due ack.
   */
  pump(): void {
    if (this.#destroyed || this.kind !== 'stomprtc') return;
    const path = this.#path();
    if (!path) return;
    const now = Date.now();
    for (const entry of this.outbox.entries()) {
      const due = entry.sentOn !== path.id || (!path.channel && now - entry.sentAt >= RELAY_RETRANSMIT_MS);
      if (!due) continue;
      if (path.channel && !this.link.writable) { this.#pumpLater(PeerLink.pollMs); break; }
      const piggyback = this.#ackDue && !(path.channel && this.#ackViaRelay);
      const env = piggyback ? { ...entry.envelope, ack: this.inbox.cumulativeAck } : entry.envelope;
      const written = path.channel
        ? this.link.send(encodeForChannel(env))
        : this.ctx.relaySend(this.#peerId, encodeForRelay(env));
      if (!written) { this.#pumpLater(path.channel ? PeerLink.pollMs : 50); break; }
      if (piggyback) {
        this.#ackDue = false;
        if (!path.channel) this.#ackViaRelay = false;
      }
      entry.sentOn = path.id;
      entry.sentAt = now;
    }
    if (this.#ackDue) {
      this.#ackDue = false;
      const ack: Envelope = { kind: 'ack', from: this.ctx.cid, ack: this.inbox.cumulativeAck };
      const sentOnRelay = this.#ackViaRelay && this.#sendRelayControl(ack);
      if (sentOnRelay) this.#ackViaRelay = false;
      else if (!this.#sendControl(ack)) this.#scheduleAck();
    }
  }

  destroy(): void {
    this.#destroyed = true;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#pumpTimer);
    clearTimeout(this.graceTimer);
    this.link.destroy();
  }

  #scheduleAck(): void {
    this.#ackDue = true;
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => { this.#ackTimer = undefined; this.pump(); }, ACK_DELAY_MS);
  }

  #pumpLater(ms: number): void {
    if (this.#pumpTimer) return;
    this.#pumpTimer = setTimeout(() => { this.#pumpTimer = undefined; this.pump(); }, ms);
  }

  /** Control envelopes (ack, hello, bye) are not sequenced; a lost one is repeated by design. */
  #sendControl(env: Envelope): boolean {
    if (this.link.channelOpen && this.link.send(encodeForChannel(env))) return true;
    return this.#sendRelayControl(env);
  }

  #sendRelayControl(env: Envelope): boolean {
    return this.ctx.port.epoch !== undefined && this.ctx.port.sendRelay(this.#peerId, encodeForRelay(env));
  }

  #sendRaw(data: string | Uint8Array): void {
    if (this.link.channelOpen && this.link.send(data)) return;
    this.ctx.port.sendRelay(this.#peerId, data);
  }
}
