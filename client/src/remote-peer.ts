/**
 * The conversation with one remote member: its identity (peer id, which changes on its signaling
 * reconnects, and client id, which does not), the WebRTC link, the outbox toward it and the
 * reorder buffer from it, and the choice of path for each envelope.
 */
import { ReorderBuffer } from './reorder.js';
import { Outbox } from './outbox.js';
import type { SplitMessage } from './chunker.js';
import { decodeEnvelope, encodeForChannel, encodeForRelay, type ClientId, type Envelope } from './envelope.js';
import { PeerLink, type LinkReason, type LinkTier, type PeerLinkHandlers, type PeerLinkOptions } from './peer-link.js';
import type { PeerId, RoomPort } from './room-port.js';
import { decodeMessage, type ReceivedValue } from './message-value.js';
import { readSealed, type Keyring, type OfferedKeys, type PairKeys, type SealedFrame } from './e2e.js';
import type { ClientErrorCode } from './errors.js';
import {
  ACK_DELAY_MS,
  CHANNEL_ACK_TIMEOUT_MS,
  HELLO_RETRY_MS,
  OUTBOX_MAX_ENVELOPES,
  PLAIN_PEER_DETECT_MS,
  RELAY_RETRANSMIT_MS,
} from './limits.js';

/** unknown until the remote says hello or signals with our marker; plain peers speak no envelope. */
export type RemoteKind = 'unknown' | 'stomprtc' | 'plain';

export interface Peer {
  /** Current peer id (changes when the peer's signaling session reconnects). */
  readonly id: PeerId;
  readonly name: string;
  readonly link: LinkTier;
  /** The current link is end-to-end encrypted: a data channel (DTLS), or the relay with agreed keys. */
  readonly encrypted: boolean;
  /** Fingerprint of both members' public keys (the same on both sides), once their keys are agreed. */
  readonly safetyNumber?: string;
}

export interface IncomingMessage {
  readonly data: ReceivedValue;
  readonly id?: string;
  readonly seq?: number;
  readonly channel?: string;
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
  tierChanged(remote: RemotePeer, tier: LinkTier, reason: LinkReason | null): void;
  streamChanged(remote: RemotePeer, stream: MediaStream | null): void;
  byeReceived(remote: RemotePeer): void;
  debug(msg: string): void;
  readonly keyring: Keyring;
  /** Seals an inner envelope's relay text and writes it (paced: under the relay token bucket). */
  sealedRelaySend(to: PeerId, pair: PairKeys, inner: string, paced: boolean): boolean;
  /** An end-to-end failure about this member ('error' event). */
  e2eError(remote: RemotePeer, code: ClientErrorCode, message: string): void;
  /** This member's keys were confirmed: its entry now has a safety number. */
  e2eReady(remote: RemotePeer): void;
}

interface PendingMessage {
  readonly id: string;
  readonly data: string | Uint8Array;
  readonly split: SplitMessage;
}

/**
 * What a room remembers of a conversation after the member left: where the member's stream to us
 * stands (so its unacknowledged messages, resent when it returns, are delivered once and in order)
 * and the epoch our stream to it had (the next conversation with it uses a higher one).
 */
export interface ConversationMemory {
  readonly inbox: ReorderBuffer;
  readonly sendEpoch: number;
  /** What was reported undelivered when the member left: a stand-in that waited for the member's
   * identity under its new peer id may hold the same broadcasts, which must not arrive now. */
  readonly undelivered: ReadonlySet<string>;
}

export class RemotePeer {
  cid: ClientId | undefined;
  #kind: RemoteKind = 'unknown';
  #name: string;
  link: PeerLink;
  #saidBye = false;
  /** Set while the member's signaling is gone and it may still come back (the rejoin grace). */
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly previousIds = new Set<PeerId>();
  #outbox: Outbox;
  #inbox = new ReorderBuffer();
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
  /** The member's offered public keys; null: its hello offered none (a client without e2e). */
  #peerKeys: OfferedKeys | null | undefined;
  #pair: PairKeys | undefined;
  /** The pair being derived from the member's latest hello: sealed frames that come meanwhile wait for it. */
  #pairPending: Promise<PairKeys> | undefined;
  /** The pair whose confirmation our hellos have carried. */
  #confirmSent: PairKeys | undefined;
  /** Refused for good: a clear peer in a passphrase room, or the key confirmation failed. */
  #refused = false;
  readonly linkHandlers: PeerLinkHandlers = {
    signal: (signal) => {
      this.#ctx.port.sendSignal(this.#peerId, signal);
    },
    data: (data) => this.receiveFrame(data),
    tier: (tier, reason) => {
      this.#ctx.tierChanged(this, tier, reason);
      if (this.#kind === 'stomprtc') {
        if (tier === 'p2p' || tier === 'turn') this.sayHello(true);
        this.pump();
      }
    },
    stream: (stream) => this.#ctx.streamChanged(this, stream),
  };

  readonly #ctx: RemoteContext;

  constructor(peerId: PeerId, name: string, linkOptions: PeerLinkOptions, ctx: RemoteContext) {
    this.#ctx = ctx;
    this.#peerId = peerId;
    this.#name = name;
    this.#outbox = new Outbox(ctx.cid);
    this.link = new PeerLink(linkOptions, this.linkHandlers);
  }

  get peerId(): PeerId {
    return this.#peerId;
  }
  get name(): string {
    return this.#name;
  }
  get kind(): RemoteKind {
    return this.#kind;
  }
  get saidBye(): boolean {
    return this.#saidBye;
  }
  get inGrace(): boolean {
    return this.#graceTimer !== undefined;
  }

  get info(): Peer {
    const tier = this.link.tier;
    const secure = this.#pair?.confirmed === true;
    const encrypted = !this.#refused && (tier === 'p2p' || tier === 'turn' || (tier === 'relay' && secure));
    return {
      id: this.#peerId,
      name: this.#name,
      link: tier,
      encrypted,
      ...(secure ? { safetyNumber: this.#pair!.safetyNumber } : {}),
    };
  }

  /**
   * Whether envelopes may be written on this path now. The relay needs confirmed keys unless the
   * member offers no encryption (and the room has no passphrase); a passphrase room also holds the
   * data channel until the keys are confirmed, since DTLS fingerprints travel through the server.
   */
  #mayWrite(channel: boolean): boolean {
    if (this.#refused) return false;
    const confirmed = this.#pair?.confirmed === true;
    const passphrase = this.#ctx.keyring.passphraseSet;
    if (channel) return confirmed || !passphrase;
    if (this.#peerKeys === null) return !passphrase;
    // Without a passphrase the confirmation proves nothing against a server that swapped the keys
    // (docs/protocol.md §12), so sealing need not wait for it; with one, nothing goes before it.
    return confirmed || (!passphrase && this.#pair !== undefined && !this.#pair.mismatched);
  }

  /** The member is back under a new peer id (a signaling reconnect): its grace ends. */
  rebind(peerId: PeerId, name: string): void {
    this.endGrace();
    if (name) this.#name = name;
    if (peerId === this.#peerId) return;
    this.previousIds.add(this.#peerId);
    this.#peerId = peerId;
  }

  rename(name: string): void {
    if (name) this.#name = name;
  }

  /** The member's signaling is gone; onTimeout runs unless it comes back (rebind) within ms. */
  startGrace(ms: number, onTimeout: () => void): void {
    if (this.#graceTimer) return;
    this.#graceTimer = setTimeout(onTimeout, ms);
  }

  endGrace(): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  /** The conversation state a room keeps after this member left (see ConversationMemory). */
  memory(undelivered: readonly string[]): ConversationMemory {
    return { inbox: this.#inbox, sendEpoch: this.#outbox.epoch, undelivered: new Set(undelivered) };
  }

  /** Messages wait for this member's identity, or were never written on any path. */
  get hasUnsent(): boolean {
    if (this.#pending.length > 0) return true;
    for (const entry of this.#outbox.entries()) if (entry.sentOn === undefined) return true;
    return false;
  }

  /** Ids of the messages this member has not acknowledged (or that wait for its identity). */
  get undelivered(): string[] {
    return [...new Set([...this.#pending.map((p) => p.id), ...this.#outbox.unacknowledgedIds()])];
  }

  /** Queues (or, for a plain peer, writes) one message. Throws OUTBOX_FULL at the bound. */
  enqueue(id: string, data: string | Uint8Array, split: SplitMessage): void {
    if (this.#kind === 'plain') {
      if (!this.#refused) this.#sendRaw(data);
      return;
    }
    this.#outbox.assertRoom({ ...split, parts: [...this.#pending.flatMap((p) => p.split.parts), ...split.parts] });
    if (this.#kind === 'unknown') {
      this.#pending.push({ id, data, split });
      return;
    }
    this.#enqueueOnce(id, split);
    this.pump();
  }

  /**
   * A broadcast made while a reconnecting member had both its old entry and a stand-in under its
   * new peer id reached both; the recent-id set keeps the merge from sending it twice.
   */
  #enqueueOnce(id: string, split: SplitMessage): void {
    if (this.#recentIds.has(id)) return;
    this.#outbox.enqueue(id, split);
    this.#recentIds.add(id);
    if (this.#recentIds.size > OUTBOX_MAX_ENVELOPES) this.#recentIds.delete(this.#recentIds.values().next().value!);
  }

  /** Room-level check before a broadcast, so a send either queues everywhere or nowhere. */
  assertRoom(split: SplitMessage): void {
    if (this.#kind !== 'plain') this.#outbox.assertRoom(split);
  }

  /** memory: what the room kept of an earlier conversation with this client, which this one continues. */
  becomeStomprtc(cid: ClientId, memory?: ConversationMemory): void {
    this.cid = cid;
    this.#kind = 'stomprtc';
    if (memory) {
      this.#inbox = memory.inbox;
      this.#outbox = new Outbox(this.#ctx.cid, memory.sendEpoch + 1);
      this.#pending = this.#pending.filter((p) => !memory.undelivered.has(p.id));
    }
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
        this.#ctx.debug(`dropping pending message ${p.id}: ${String(err)}`);
      }
    }
  }

  /** Only an unknown remote can become plain: one that has spoken envelopes never does. */
  becomePlain(): void {
    if (this.#kind !== 'unknown') return;
    this.#kind = 'plain';
    const pending = this.#pending;
    this.#pending = [];
    if (this.#ctx.keyring.passphraseSet) {
      this.#refuse(
        'E2E_REQUIRED',
        `peer ${this.#peerId} speaks no stomprtc envelope (a plain peer): a room with a passphrase refuses clear links; ${pending.length} queued message(s) not sent`,
      );
      return;
    }
    for (const p of pending) this.#sendRaw(p.data);
  }

  /** Takes over another object's link (after learning both are the same client). */
  adoptLink(link: PeerLink): void {
    this.link.destroy();
    this.link = link;
    link.handlers = this.linkHandlers;
    this.#ctx.tierChanged(this, link.tier, link.reason);
    if (link.remoteStream) this.#ctx.streamChanged(this, link.remoteStream);
  }

  /** A frame from the data channel or the relay. */
  receiveFrame(frame: string | Uint8Array, viaRelay = false): void {
    if (this.#destroyed) return;
    const sealed = viaRelay ? readSealed(frame) : undefined;
    if (sealed) {
      void this.#ctx.learnCid(this, sealed.from).#openSealed(sealed);
      return;
    }
    const env = decodeEnvelope(frame);
    if (!env) {
      // Not an envelope: a peer on plain simple-peer. Delivered as-is, without id or seq.
      if (this.#kind === 'unknown') this.becomePlain();
      if (!this.#refused) this.#ctx.deliver(this, { data: frame });
      return;
    }
    const owner = this.#ctx.learnCid(this, env.from);
    if (
      viaRelay &&
      env.kind !== 'hello' &&
      owner.#peerKeys !== null &&
      (owner.#peerKeys || owner.#ctx.keyring.passphraseSet)
    ) {
      owner.#ctx.e2eError(
        owner,
        'E2E_TAMPERED',
        `a clear ${env.kind} envelope from peer ${owner.#peerId} on the relay, where it encrypts: dropped`,
      );
      return;
    }
    owner.handleEnvelope(env, viaRelay);
  }

  async #openSealed(sealed: SealedFrame): Promise<void> {
    // The member may seal as soon as it has our keys, so its first frames can overtake our derivation
    // of its keys: those wait for it. (A member's keys are its Room's, so they never change.)
    const pair = this.#pair ?? (await this.#pairPending?.catch(() => undefined));
    if (this.#destroyed) return;
    if (!pair || pair.mismatched || this.#refused) {
      this.#ctx.debug(`sealed frame from ${this.#peerId} before its keys are agreed: dropped (it is resent)`);
      return;
    }
    const opened = await pair.open(sealed);
    if (this.#destroyed) return;
    if ('failure' in opened) {
      const what =
        opened.failure === 'E2E_REPLAY'
          ? `a replayed relay frame (counter ${sealed.counter})`
          : 'a relay frame that fails authentication';
      this.#ctx.e2eError(this, opened.failure, `${what} from peer ${this.#peerId}: dropped`);
      return;
    }
    const env = decodeEnvelope(opened.inner);
    if (!env || env.from !== sealed.from || env.kind === 'hello') {
      this.#ctx.e2eError(
        this,
        'E2E_TAMPERED',
        `a sealed frame from peer ${this.#peerId} holds no valid envelope: dropped`,
      );
      return;
    }
    this.handleEnvelope(env, true);
  }

  #refuse(code: ClientErrorCode, message: string): void {
    if (this.#refused) return;
    this.#refused = true;
    this.#ctx.e2eError(this, code, message);
  }

  /** The member's hello: agree on keys, check its confirmation, and answer with ours when it lacks it. */
  async #agree(env: Extract<Envelope, { kind: 'hello' }>, viaRelay: boolean): Promise<void> {
    await this.#ctx.keyring.ready;
    if (this.#destroyed) return;
    if (!env.keys || !this.#ctx.keyring.offered.p) {
      // Either side offers no keys (a client without e2e, or ours disabled): the relay stays clear.
      this.#peerKeys = null;
      if (this.#ctx.keyring.passphraseSet) {
        this.#refuse(
          'E2E_REQUIRED',
          `peer ${this.#peerId} offers no end-to-end encryption: a room with a passphrase refuses clear links`,
        );
      }
      if (!env.knowsYou) this.sayHello(true, viaRelay);
      this.pump();
      this.link.begin();
      return;
    }
    this.#peerKeys = env.keys;
    const pending = this.#ctx.keyring.pair(env.from, env.keys);
    if (!pending) {
      this.#refuse('E2E_MISMATCH', `peer ${this.#peerId} offers no key agreement we share`);
      return;
    }
    this.#pairPending = pending;
    const pair = await pending;
    if (this.#destroyed) return;
    this.#pair = pair;
    if (env.confirm !== undefined && !pair.confirmed && !pair.mismatched) {
      if (pair.verify(env.confirm)) {
        pair.confirmed = true;
        this.#ctx.e2eReady(this);
      } else {
        pair.mismatched = true;
        this.#refuse(
          'E2E_MISMATCH',
          `key confirmation with peer ${this.#peerId} failed: the room passphrases differ, or the server swapped the keys it relayed`,
        );
        return;
      }
    }
    if (!env.knowsYou || this.#confirmSent !== pair) this.sayHello(true, viaRelay);
    this.pump();
    // The relay path is secured and what waited for it is written: WebRTC may take the event loop now.
    if (pair.confirmed) this.link.begin();
  }

  handleEnvelope(env: Envelope, viaRelay = false): void {
    switch (env.kind) {
      case 'data': {
        if (env.ack !== undefined) this.#acked(env.ack, env.ackEpoch ?? 1);
        const { messages } = this.#inbox.accept(env);
        for (const m of messages) {
          let data: ReceivedValue;
          try {
            data = decodeMessage(m.data, m.json);
          } catch {
            this.#ctx.debug(`message ${m.id} is not the JSON it claims to be; delivered as text`);
            data = m.data;
          }
          const channel = m.channel !== undefined ? { channel: m.channel } : {};
          this.#ctx.deliver(this, { data, id: m.id, seq: m.seq, ...channel });
        }
        if (viaRelay) this.#ackViaRelay = true;
        this.#scheduleAck();
        return;
      }
      case 'ack':
        this.#acked(env.ack, env.epoch);
        return;
      case 'hello':
        if (env.noWebrtc) this.link.remoteHasNoWebrtc(env.noWebrtc);
        void this.#agree(env, viaRelay);
        return;
      case 'bye':
        this.#saidBye = true;
        this.link.remoteLeaving();
        this.#ctx.byeReceived(this);
        return;
    }
  }

  /**
   * viaRelay: a hello after our signaling reconnect must come from our new peer id, which only
   * the relay shows (the data channel still belongs to the old one).
   */
  sayHello(knowsYou: boolean, viaRelay = false): void {
    this.#lastHelloAt = Date.now();
    const keyring = this.#ctx.keyring;
    if (!keyring.settled) {
      void keyring.ready.then(() => {
        if (!this.#destroyed) this.sayHello(knowsYou, viaRelay);
      });
      return;
    }
    const pair = this.#pair && !this.#pair.mismatched ? this.#pair : undefined;
    if (pair) this.#confirmSent = pair;
    const env: Envelope = {
      kind: 'hello',
      from: this.#ctx.cid,
      knowsYou,
      ...(this.#ctx.noWebrtc ? { noWebrtc: this.#ctx.noWebrtc } : {}),
      ...(keyring.offered.p ? { keys: keyring.offered } : {}),
      ...(pair ? { confirm: pair.confirmation } : {}),
    };
    if (viaRelay) this.#sendRelayControl(env);
    else this.#sendControl(env);
  }

  /** On both paths: the relay copy reaches the server before our UNSUBSCRIBE, so the others
   * see the bye before peer-left. */
  sayBye(): void {
    if (this.#kind !== 'stomprtc') return;
    // What arrived is acknowledged first, so the member does not report it undelivered.
    const ack = this.#ackEnvelope();
    const env: Envelope = { kind: 'bye', from: this.#ctx.cid };
    for (const e of ack ? [ack, env] : [env]) {
      if (this.link.channelOpen && this.#mayWrite(true)) this.link.send(encodeForChannel(e));
      this.#sendRelayControl(e);
    }
  }

  /** Periodic duties: hello until identified, plain-peer detection, channel liveness, relay
   * retransmission. */
  tick(now: number): void {
    if (this.#kind === 'unknown') {
      // Hellos cannot arrive while our signaling is down, nor be told apart from a rejoining
      // member's while one is in its grace: neither counts towards the plain-peer window.
      if (this.#ctx.port.epoch === undefined || this.#ctx.awaitingRejoin()) this.#unknownSince = now;
      if (now - this.#unknownSince >= PLAIN_PEER_DETECT_MS) this.becomePlain();
      else if (now - this.#lastHelloAt >= HELLO_RETRY_MS) this.sayHello(false);
    } else if (
      this.#kind === 'stomprtc' &&
      !this.#refused &&
      this.#peerKeys !== null &&
      this.#pair?.confirmed !== true &&
      now - this.#lastHelloAt >= HELLO_RETRY_MS
    ) {
      // Keys not confirmed yet (a hello lost on the relay): ask for the member's again.
      this.sayHello(false);
    }
    // A tick that comes late (a blocked event loop) runs before the acks that queued up meanwhile.
    const punctual = now - this.#lastTickAt < CHANNEL_ACK_TIMEOUT_MS / 2;
    this.#lastTickAt = now;
    if (this.#kind !== 'stomprtc') return;
    if (punctual && this.link.channelOpen && this.#ctx.port.epoch !== undefined && this.#channelSilent(now)) {
      this.link.stall(`no ack progress for ${CHANNEL_ACK_TIMEOUT_MS} ms`);
    }
    this.pump();
  }

  /** The window of the plain-peer detection starts again (our signaling just came back). */
  restartDetection(now: number): void {
    this.#unknownSince = now;
  }

  /**
   * Envelopes written to the open channel have seen no ack progress for CHANNEL_ACK_TIMEOUT_MS:
   * the channel is not carrying data (a dead path keeps bufferedAmount at 0 and the channel open).
   */
  #channelSilent(now: number): boolean {
    const path = this.link.pathId;
    for (const entry of this.#outbox.entries()) {
      if (entry.sentOn !== path) continue;
      return now - Math.max(entry.sentAt, this.#ackProgressAt) >= CHANNEL_ACK_TIMEOUT_MS;
    }
    return false;
  }

  #ackEnvelope(): Envelope | undefined {
    const epoch = this.#inbox.epoch;
    return epoch === 0 ? undefined : { kind: 'ack', from: this.#ctx.cid, epoch, ack: this.#inbox.cumulativeAck };
  }

  #acked(upTo: number, epoch: number): void {
    const before = this.#outbox.acked;
    this.#outbox.ack(upTo, epoch);
    if (this.#outbox.acked > before) this.#ackProgressAt = Date.now();
  }

  /** The path id an envelope written now would travel on, or undefined when none is up. */
  #path(): { id: string; channel: boolean } | undefined {
    if (this.link.channelOpen) return { id: this.link.pathId, channel: true };
    const epoch = this.#ctx.port.epoch;
    return epoch === undefined ? undefined : { id: `relay:${epoch}:${this.#peerId}`, channel: false };
  }

  /**
   * Writes what the current path has not carried: every unacked envelope after a path change,
   * relay envelopes again after RELAY_RETRANSMIT_MS, then any due ack.
   */
  pump(): void {
    if (this.#destroyed || this.#kind !== 'stomprtc') return;
    const path = this.#path();
    if (!path || !this.#mayWrite(path.channel)) return;
    const now = Date.now();
    for (const entry of this.#outbox.entries()) {
      const due = entry.sentOn !== path.id || (!path.channel && now - entry.sentAt >= RELAY_RETRANSMIT_MS);
      if (!due) continue;
      if (path.channel && !this.link.writable) {
        this.#pumpLater(PeerLink.pollMs);
        break;
      }
      const piggyback = this.#ackDue && !(path.channel && this.#ackViaRelay);
      const env = piggyback
        ? { ...entry.envelope, ack: this.#inbox.cumulativeAck, ackEpoch: this.#inbox.epoch }
        : entry.envelope;
      const written = path.channel
        ? this.link.send(encodeForChannel(env))
        : this.#pair
          ? this.#ctx.sealedRelaySend(this.#peerId, this.#pair, encodeForRelay(env), true)
          : this.#ctx.relaySend(this.#peerId, encodeForRelay(env));
      if (!written) {
        this.#pumpLater(path.channel ? PeerLink.pollMs : 50);
        break;
      }
      if (piggyback) {
        this.#ackDue = false;
        if (!path.channel) this.#ackViaRelay = false;
      }
      entry.sentOn = path.id;
      entry.sentAt = now;
    }
    const ack = this.#ackDue ? this.#ackEnvelope() : undefined;
    if (ack) {
      this.#ackDue = false;
      const sentOnRelay = this.#ackViaRelay && this.#sendRelayControl(ack);
      if (sentOnRelay) this.#ackViaRelay = false;
      else if (!this.#sendControl(ack)) this.#scheduleAck();
    }
  }

  destroy(): void {
    this.#destroyed = true;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#pumpTimer);
    this.endGrace();
    this.link.destroy();
  }

  #scheduleAck(): void {
    this.#ackDue = true;
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined;
      this.pump();
    }, ACK_DELAY_MS);
  }

  #pumpLater(ms: number): void {
    if (this.#pumpTimer) return;
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  /** Control envelopes (ack, hello, bye) are not sequenced; a lost one is repeated by design. */
  #sendControl(env: Envelope): boolean {
    const channelOk = env.kind === 'hello' || this.#mayWrite(true);
    if (channelOk && this.link.channelOpen && this.link.send(encodeForChannel(env))) return true;
    return this.#sendRelayControl(env);
  }

  /** Hellos go in clear (they carry the keys); anything else is sealed, or waits for the keys. */
  #sendRelayControl(env: Envelope): boolean {
    if (this.#ctx.port.epoch === undefined) return false;
    if (env.kind === 'hello') return this.#ctx.port.sendRelay(this.#peerId, encodeForRelay(env));
    if (!this.#mayWrite(false)) return false;
    if (this.#pair) return this.#ctx.sealedRelaySend(this.#peerId, this.#pair, encodeForRelay(env), false);
    return this.#ctx.port.sendRelay(this.#peerId, encodeForRelay(env));
  }

  #sendRaw(data: string | Uint8Array): void {
    if (this.link.channelOpen && this.link.send(data)) return;
    this.#ctx.port.sendRelay(this.#peerId, data);
  }
}
