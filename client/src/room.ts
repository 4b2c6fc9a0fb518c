/**
 * A room: presence (who is here, under which peer id), the full mesh of links (one RemotePeer per
 * member), and the message API. Depends only on RoomPort, so tests cross-wire rooms in memory.
 */
import { TypedEmitter } from './events.js';
import { ClientError, type RoomErrorInfo } from './errors.js';
import { splitMessage } from './chunker.js';
import { encodeMessage, type EncodedMessage, type MessageValue, type ReceivedValue } from './message-value.js';
import type { ClientId } from './envelope.js';
import { readMarker, type LinkReason, type LinkTier } from './peer-link.js';
import {
  RemotePeer,
  type ConversationMemory,
  type IncomingMessage,
  type Peer,
  type RemoteContext,
} from './remote-peer.js';
import type { LinkReport, PeerId, PeerInfo, RoomInbound, RoomPort, WelcomeMessage } from './room-port.js';
import type { WrtcImpl } from './webrtc.js';
import { Keyring, type PairKeys } from './e2e.js';
import {
  ACK_DELAY_MS,
  CONVERSATION_MEMORY_PEERS,
  DATA_CHANNEL_MESSAGE_BYTES,
  DEFAULT_RELAY_MAX_BYTES,
  ENVELOPE_HEADER_RESERVE_BYTES,
  LEAVE_DRAIN_MS,
  MAX_MESSAGE_BYTES,
  RATE_LIMITED_PAUSE_MS,
  REJOIN_GRACE_MS,
  RELAY_BURST_FRAMES,
  RELAY_FRAMES_PER_SECOND,
} from './limits.js';

export type { Peer } from './remote-peer.js';

export interface RoomMessage {
  /** Current peer id of the sender. */
  readonly from: PeerId;
  /** A string, a Uint8Array (whatever bytes were sent) or the JSON value that was sent. */
  readonly data: ReceivedValue;
  /** Message id and sequence number; undefined for data from a plain (envelope-less) peer. */
  readonly id?: string;
  readonly seq?: number;
  /** The channel the sender named in send(data, { channel }), if any. */
  readonly channel?: string;
}

export interface SendOptions {
  /** A name (1 to 64 characters) the receiver sees as RoomMessage.channel, to multiplex without
   * framing of its own. Order holds per sender across all channels. */
  readonly channel?: string;
}

export interface StreamEvent {
  readonly peerId: PeerId;
  readonly stream: MediaStream | null;
}

export interface LinkStateEvent {
  readonly peerId: PeerId;
  readonly state: LinkTier;
  /** Why the link is on the relay: a failure, or 'relay-only' (either end chose no WebRTC). */
  readonly reason?: LinkReason;
}

/** 'left': unsubscribed, said bye or was never a stomprtc client; 'timeout': gone and did not
 * come back within the rejoin grace. */
export type PeerLeftReason = 'left' | 'timeout';

/**
 * Messages a member will never get from us: it had not acknowledged them when it left ('left',
 * 'timeout'), or when we left the room or the session closed ('closed').
 */
export interface UndeliveredEvent {
  readonly peerId: PeerId;
  /** Message ids, as send()/sendTo() returned them, in sending order. */
  readonly ids: readonly string[];
  /** 'refused': a message whose bytes were read later (a Blob) could not be queued; an 'error'
   * event says why. */
  readonly reason: PeerLeftReason | 'closed' | 'refused';
}

export type RoomEvents = {
  'peer-joined': (peer: Peer) => void;
  'peer-left': (peer: Peer, reason: PeerLeftReason) => void;
  /** The same client came back under a new peer id after a signaling reconnect. */
  'peer-reconnected': (peer: Peer, previousId: PeerId) => void;
  message: (msg: RoomMessage) => void;
  /** The delivery promise's other half: these messages will not reach this member (docs §10). */
  undelivered: (event: UndeliveredEvent) => void;
  'link-state': (event: LinkStateEvent) => void;
  /** A member's media started flowing over its peer connection (a stream), or stopped (null). */
  stream: (event: StreamEvent) => void;
  error: (err: RoomErrorInfo) => void;
  /** A member's keys were agreed and confirmed: its entry has a safety number, the relay to it is encrypted. */
  'peer-secured': (peer: Peer) => void;
  /** joining → joined (first welcome) → left (leave(), a refused join or rejoin, the session closed). */
  state: (state: RoomState, previous: RoomState) => void;
};

export interface RoomOptions {
  readonly roomId: string;
  readonly name: string;
  /** Undefined: relay only (chosen, or no WebRTC available). */
  readonly wrtc: WrtcImpl | undefined;
  readonly relayOnly: boolean;
  /** @default REJOIN_GRACE_MS */
  readonly rejoinGraceMs?: number;
  /** @default MAX_MESSAGE_BYTES */
  readonly maxMessageBytes?: number;
  /** ICE servers used before those of the welcome (which come from the server's STUN/TURN
   * configuration). @default [] */
  readonly iceServers?: readonly RTCIceServer[];
  readonly debug?: (msg: string) => void;
  /** Mixed into the key derivation: members with another passphrase (or none) cannot talk to us. */
  readonly passphrase?: string;
  /** false: offer no keys, so the relay carries our envelopes in clear. @default true */
  readonly endToEnd?: boolean;
}

export type RoomState = 'joining' | 'joined' | 'left';
const TICK_MS = 250;

export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly clientId: ClientId = randomId();
  #self: PeerInfo;
  #state: RoomState = 'joining';
  #iceServers: readonly RTCIceServer[];
  #chunkBytes = DATA_CHANNEL_MESSAGE_BYTES - ENVELOPE_HEADER_RESERVE_BYTES;
  #messageCounter = 0;
  readonly #remotes = new Set<RemotePeer>();
  readonly #byPeer = new Map<PeerId, RemotePeer>();
  readonly #byCid = new Map<ClientId, RemotePeer>();
  /** Members whose first link-state was emitted; changes before it are folded into it. */
  readonly #linkAnnounced = new WeakSet<RemotePeer>();
  /** Conversations of members that left, by client id, oldest first; a member that returns continues its own. */
  readonly #memory = new Map<ClientId, ConversationMemory>();
  #tokens = RELAY_BURST_FRAMES;
  #tokensAt = Date.now();
  #relayPausedUntil = 0;
  readonly #tick: ReturnType<typeof setInterval>;
  readonly #joined: Promise<void>;
  #resolveJoined!: () => void;
  #rejectJoined!: (err: Error) => void;
  readonly #ctx: RemoteContext;
  #localStream: MediaStream | null = null;
  /** Sends waiting behind one whose bytes are still being read (a Blob), in order. */
  readonly #waiting: Array<{
    remotes: RemotePeer[];
    id: string;
    message: EncodedMessage | Promise<EncodedMessage>;
  }> = [];

  readonly #port: RoomPort;
  readonly #options: RoomOptions;
  readonly #keyring: Keyring;
  /** Sealed relay writes, in order: each waits for the one before (sealing is asynchronous). */
  #sealed: Promise<void> = Promise.resolve();

  constructor(port: RoomPort, options: RoomOptions, wire: (inbound: RoomInbound) => void) {
    super();
    this.#port = port;
    this.#options = options;
    this.id = options.roomId;
    this.#self = { id: '', name: options.name };
    this.#iceServers = options.iceServers ?? [];
    this.#joined = new Promise((resolve, reject) => {
      this.#resolveJoined = resolve;
      this.#rejectJoined = reject;
    });
    this.#joined.catch(() => undefined);
    this.#keyring = new Keyring(this.clientId, options.roomId, options.passphrase, options.endToEnd !== false);
    this.#ctx = {
      cid: this.clientId,
      port,
      noWebrtc: options.relayOnly ? 'relay-only' : options.wrtc ? undefined : 'unsupported',
      awaitingRejoin: () => [...this.#remotes].some((r) => r.inGrace),
      relaySend: (to, body) => this.#relaySend(to, body),
      learnCid: (remote, cid) => this.#learnCid(remote, cid),
      deliver: (remote, msg) => this.#deliver(remote, msg),
      tierChanged: (remote, tier, failure) => this.#tierChanged(remote, tier, failure),
      streamChanged: (remote, stream) => {
        if (this.#state !== 'left' && this.#remotes.has(remote)) this.emit('stream', { peerId: remote.peerId, stream });
      },
      byeReceived: (remote) => {
        if (remote.inGrace) this.#remove(remote, 'left');
      },
      debug: (msg) => this.#debug(msg),
      keyring: this.#keyring,
      sealedRelaySend: (to, pair, inner, paced) => this.#sealedRelaySend(to, pair, inner, paced),
      e2eError: (remote, code, message) => {
        if (this.#state !== 'left' && this.#remotes.has(remote)) this.emit('error', { code, message });
      },
      e2eReady: (remote) => {
        if (this.#state !== 'left' && this.#remotes.has(remote)) this.emit('peer-secured', remote.info);
      },
    };
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    (this.#tick as { unref?: () => void }).unref?.();
    wire(this.#inbound);
  }

  /** Resolves on the first welcome; rejects when the server refuses the join. */
  get joined(): Promise<void> {
    return this.#joined;
  }
  get self(): PeerInfo {
    return { ...this.#self };
  }
  get state(): RoomState {
    return this.#state;
  }
  get peers(): Peer[] {
    return [...this.#remotes].map((r) => r.info);
  }

  /**
   * Sends to every other member; returns the message id (the receivers' RoomMessage.id, and what
   * an 'undelivered' event names). Throws OUTBOX_FULL (sending to nobody) at the outbox bound.
   */
  send(data: MessageValue, options: SendOptions = {}): string {
    return this.#sendTo([...this.#remotes], data, options);
  }

  /** Sends to one member, by its current (or a previous) peer id; returns the message id. */
  sendTo(peerId: PeerId, data: MessageValue, options: SendOptions = {}): string {
    const remote = this.#byPeer.get(peerId);
    if (!remote) throw new ClientError('UNKNOWN_PEER', `no member ${peerId} in room ${this.id}`);
    return this.#sendTo([remote], data, options);
  }

  /**
   * Sends this stream's audio and video to every member over its peer connection (members that
   * join later get it too); null stops sending. Members on the relay get no media.
   */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    for (const remote of this.#remotes) remote.link.setLocalStream(stream);
  }

  /** The media a member sends, while it flows. */
  remoteStream(peerId: PeerId): MediaStream | null {
    return this.#byPeer.get(peerId)?.link.remoteStream ?? null;
  }

  /**
   * Leaves the room: waits up to LEAVE_DRAIN_MS until what was sent is written on some path (a
   * member that joined just now has to say hello first), says bye, and reports what is still
   * unacknowledged as 'undelivered' (reason 'closed'). It does not wait for acks: links that stay
   * up while their peers tear theirs down churn peer connections (and crashed @roamhq/wrtc).
   */
  async leave(): Promise<void> {
    if (this.#state === 'left') return;
    const until = Date.now() + LEAVE_DRAIN_MS;
    while (Date.now() < until && this.#awaitingWrites()) {
      await new Promise((resolve) => setTimeout(resolve, ACK_DELAY_MS));
    }
    if (this.state === 'left') return;
    for (const remote of this.#remotes) remote.sayBye();
    // The sealed byes reach the server before our UNSUBSCRIBE.
    await this.#sealed;
    if ((this.#state as RoomState) === 'left') return;
    this.#close(new ClientError('NOT_IN_ROOM', `left room ${this.id}`));
    await this.#port.leave().catch(() => undefined);
  }

  /** Some member still waits for messages we have not written on any path (it has not said hello yet). */
  #awaitingWrites(): boolean {
    return this.#state !== 'left' && [...this.#remotes].some((r) => !r.saidBye && r.hasUnsent);
  }

  /** Ends the room without telling anyone (the session is closing or the join failed). */
  close(reason: Error): void {
    this.#close(reason);
  }

  #close(reason: Error): void {
    if (this.#state === 'left') return;
    const undelivered = [...this.#remotes].map((r) => ({ peerId: r.peerId, ids: r.undelivered }));
    this.#setState('left');
    this.#rejectJoined(reason);
    clearInterval(this.#tick);
    for (const remote of this.#remotes) remote.destroy();
    for (const { peerId, ids } of undelivered) {
      if (ids.length) this.emit('undelivered', { peerId, ids, reason: 'closed' });
    }
    this.#remotes.clear();
    this.#byPeer.clear();
    this.#byCid.clear();
  }

  #sendTo(remotes: RemotePeer[], value: MessageValue, options: SendOptions): string {
    if (this.#state === 'left') throw new ClientError('NOT_IN_ROOM', `room ${this.id} was left`);
    const message = encodeMessage(value, this.#options.maxMessageBytes ?? MAX_MESSAGE_BYTES, options.channel);
    if (!(message instanceof Promise) && this.#waiting.length === 0) {
      const split = splitMessage(message.data, this.#chunkBytes, message);
      for (const r of remotes) r.assertRoom(split);
      const id = this.#nextMessageId();
      for (const r of remotes) r.enqueue(id, message.data, split);
      return id;
    }
    const id = this.#nextMessageId();
    this.#waiting.push({ remotes, id, message });
    if (this.#waiting.length === 1) void this.#sendWaiting();
    return id;
  }

  #nextMessageId(): string {
    return `${this.clientId}-${++this.#messageCounter}`;
  }

  /**
   * Queues the waiting sends in order once their bytes are read. Their send() has returned, so a
   * refusal now (outbox full, unreadable Blob) is an 'error' plus an 'undelivered' report.
   */
  async #sendWaiting(): Promise<void> {
    while (this.#waiting.length > 0) {
      const { remotes, id, message } = this.#waiting[0]!;
      let refusal: ClientError | undefined;
      let encoded: EncodedMessage | undefined;
      try {
        encoded = await message;
      } catch (err) {
        refusal = new ClientError('INVALID_MESSAGE', `the Blob could not be read: ${String(err)}`);
      }
      this.#waiting.shift();
      if (this.#state === 'left') continue;
      const members = remotes.filter((r) => this.#remotes.has(r));
      const gone = remotes.filter((r) => !this.#remotes.has(r));
      for (const r of gone) this.emit('undelivered', { peerId: r.peerId, ids: [id], reason: 'left' });
      if (encoded) {
        const split = splitMessage(encoded.data, this.#chunkBytes, encoded);
        try {
          for (const r of members) r.assertRoom(split);
          for (const r of members) r.enqueue(id, encoded.data, split);
        } catch (err) {
          refusal = err instanceof ClientError ? err : new ClientError('INVALID_MESSAGE', String(err));
        }
      }
      if (refusal) {
        this.emit('error', { code: refusal.code, message: refusal.message });
        for (const r of members) this.emit('undelivered', { peerId: r.peerId, ids: [id], reason: 'refused' });
      }
    }
  }

  readonly #inbound: RoomInbound = {
    welcome: (msg) => this.#onWelcome(msg),
    peerJoined: (peer) => {
      if (this.#state === 'left' || peer.id === this.#self.id || this.#byPeer.has(peer.id)) return;
      this.#addRemote(peer, false, true);
    },
    peerLeft: (peerId) => {
      const remote = this.#byPeer.get(peerId);
      if (!remote) return;
      if (remote.peerId !== peerId) {
        this.#byPeer.delete(peerId);
        return;
      }
      this.#depart(remote);
    },
    signal: (from, signal) => {
      if (this.#state === 'left') return;
      let remote = this.#byPeer.get(from) ?? this.#addRemote({ id: from, name: '' }, false, true);
      const marker = readMarker(signal);
      if (marker) remote = this.#learnCid(remote, marker.cid);
      else if (remote.kind === 'unknown') remote.becomePlain();
      remote.link.handleSignal(signal);
    },
    relay: (from, body) => {
      if (this.#state === 'left') return;
      const remote = this.#byPeer.get(from) ?? this.#addRemote({ id: from, name: '' }, false, true);
      remote.receiveFrame(body, true);
    },
    error: (err) => {
      if (err.code === 'RATE_LIMITED') {
        this.#relayPausedUntil = Date.now() + RATE_LIMITED_PAUSE_MS;
        return;
      }
      // A peer that just left or reconnected is briefly unknown under its old id: what it did not
      // acknowledge is resent to its new id, or reported undelivered when it is gone for good.
      if (err.code === 'UNKNOWN_PEER') {
        this.#debug(err.message);
        return;
      }
      this.emit('error', err);
    },
    refused: (err) => {
      if (this.#state === 'left') return;
      const reason = new ClientError(err.code, err.message);
      if (this.#state === 'joined') this.emit('error', err);
      this.#close(reason);
    },
    signalingLost: () => this.#debug('signaling lost; links stay up'),
  };

  #onWelcome(msg: WelcomeMessage): void {
    if (this.#state === 'left') return;
    const rejoin = this.#state === 'joined';
    this.#self = { id: msg.self, name: this.#self.name };
    // Ours first: an application that brings its own TURN server prefers it to the server's.
    this.#iceServers = [...(this.#options.iceServers ?? []), ...(msg.iceServers ?? [])];
    const relayMax = msg.limits?.relayMaxBytes ?? DEFAULT_RELAY_MAX_BYTES;
    // One chunk size fits both paths: relay frames carry bytes in base64 (4/3 larger).
    this.#chunkBytes = Math.max(
      1024,
      Math.min(
        DATA_CHANNEL_MESSAGE_BYTES - ENVELOPE_HEADER_RESERVE_BYTES,
        Math.floor(((relayMax - ENVELOPE_HEADER_RESERVE_BYTES) * 3) / 4) - 4,
      ),
    );
    const present = new Set(msg.peers.map((p) => p.id));
    for (const peer of msg.peers) {
      if (peer.id === msg.self) continue;
      const known = this.#byPeer.get(peer.id);
      if (known) known.rename(peer.name);
      else this.#addRemote(peer, true, rejoin);
    }
    if (rejoin) {
      for (const remote of [...this.#remotes]) {
        if (!present.has(remote.peerId) && !remote.inGrace) this.#depart(remote);
        else if (remote.kind === 'stomprtc') {
          remote.sayHello(true, true);
          remote.pump();
        } else if (remote.kind === 'unknown') remote.restartDetection(Date.now());
      }
    }
    this.#setState('joined');
    this.#resolveJoined();
  }

  #addRemote(peer: PeerInfo, initiator: boolean, announce: boolean): RemotePeer {
    const remote = new RemotePeer(
      peer.id,
      peer.name,
      {
        initiator,
        wrtc: this.#options.relayOnly ? undefined : this.#options.wrtc,
        noWebrtcReason: this.#options.relayOnly ? 'relay-only' : 'unsupported',
        iceServers: this.#iceServers,
        cid: this.clientId,
        localStream: this.#localStream,
        debug: (m) => this.#debug(`${peer.id}: ${m}`),
      },
      this.#ctx,
    );
    this.#remotes.add(remote);
    this.#byPeer.set(peer.id, remote);
    remote.sayHello(false);
    this.#report(remote);
    if (announce) {
      this.emit('peer-joined', remote.info);
      this.#announceLink(remote);
    } else {
      // A member of the welcome list: join() has not returned the room yet, so its first
      // link-state waits until the application had the chance to listen.
      setTimeout(() => this.#announceLink(remote), 0);
    }
    return remote;
  }

  /** Binds a client id to a remote; merges with the remote already holding that id. */
  #learnCid(remote: RemotePeer, cid: ClientId): RemotePeer {
    if (remote.cid === cid) return remote;
    const owner = this.#byCid.get(cid);
    if (!owner) {
      if (remote.cid !== undefined) this.#byCid.delete(remote.cid);
      this.#byCid.set(cid, remote);
      const memory = this.#memory.get(cid);
      this.#memory.delete(cid);
      remote.becomeStomprtc(cid, memory);
      return remote;
    }
    if (owner === remote) return remote;
    // The same client under a new peer id: continue its conversation, drop the stand-in.
    const previousId = owner.peerId;
    owner.rebind(remote.peerId, remote.name);
    const adopt =
      !owner.link.channelOpen &&
      !owner.link.relayForGood &&
      (remote.link.active || remote.link.starting) &&
      remote.link.initiator;
    if (adopt) owner.adoptLink(remote.link);
    else remote.link.destroy();
    owner.absorbPending(remote);
    this.#remotes.delete(remote);
    this.#byPeer.set(owner.peerId, owner);
    this.#debug(`${previousId} is now ${owner.peerId}`);
    this.emit('peer-reconnected', owner.info, previousId);
    owner.sayHello(true);
    owner.pump();
    return owner;
  }

  #depart(remote: RemotePeer): void {
    if (remote.kind !== 'stomprtc' || remote.saidBye) {
      this.#remove(remote, 'left');
      return;
    }
    remote.startGrace(this.#options.rejoinGraceMs ?? REJOIN_GRACE_MS, () => this.#remove(remote, 'timeout'));
  }

  #remove(remote: RemotePeer, reason: PeerLeftReason): void {
    if (!this.#remotes.delete(remote)) return;
    remote.destroy();
    for (const [id, r] of this.#byPeer) if (r === remote) this.#byPeer.delete(id);
    const ids = remote.undelivered;
    if (remote.cid !== undefined && this.#byCid.get(remote.cid) === remote) {
      this.#byCid.delete(remote.cid);
      this.#memory.set(remote.cid, remote.memory(ids));
      if (this.#memory.size > CONVERSATION_MEMORY_PEERS) this.#memory.delete(this.#memory.keys().next().value!);
    }
    this.emit('peer-left', remote.info, reason);
    if (ids.length) this.emit('undelivered', { peerId: remote.peerId, ids, reason });
  }

  #deliver(remote: RemotePeer, msg: IncomingMessage): void {
    if (this.#state === 'left') return;
    this.emit('message', { from: remote.peerId, ...msg });
  }

  /** The first link-state of a member: its tier from the start ('connecting', or 'relay' and why). */
  #announceLink(remote: RemotePeer): void {
    if (this.#state === 'left' || !this.#remotes.has(remote) || this.#linkAnnounced.has(remote)) return;
    this.#linkAnnounced.add(remote);
    const reason = remote.link.reason;
    this.emit('link-state', { peerId: remote.peerId, state: remote.link.tier, ...(reason ? { reason } : {}) });
  }

  #tierChanged(remote: RemotePeer, tier: LinkTier, reason: LinkReason | null): void {
    if (this.#state === 'left' || !this.#remotes.has(remote)) return;
    this.#report(remote);
    if (!this.#linkAnnounced.has(remote)) return;
    this.emit('link-state', { peerId: remote.peerId, state: tier, ...(reason ? { reason } : {}) });
  }

  #report(remote: RemotePeer): void {
    const report: LinkReport = {
      type: 'link',
      peer: remote.peerId,
      tier: remote.link.tier,
      connectMs: remote.link.connectMs,
      failure: remote.link.failure,
    };
    this.#port.sendReport(report);
  }

  /** Token bucket under the server's per-session rate limit. */
  #relaySend(to: PeerId, body: string): boolean {
    const now = Date.now();
    if (now < this.#relayPausedUntil || this.#port.epoch === undefined) return false;
    this.#tokens = Math.min(
      RELAY_BURST_FRAMES,
      this.#tokens + ((now - this.#tokensAt) * RELAY_FRAMES_PER_SECOND) / 1000,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    if (!this.#port.sendRelay(to, body)) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Takes a relay token now (paced writes), then seals and writes in order. */
  #sealedRelaySend(to: PeerId, pair: PairKeys, inner: string, paced: boolean): boolean {
    const epoch = this.#port.epoch;
    if (epoch === undefined) return false;
    if (paced && !this.#takeToken()) return false;
    this.#sealed = this.#sealed
      .then(async () => {
        const body = await pair.seal(this.clientId, this.#keyring.nextCounter(), inner);
        if (this.#port.epoch === epoch) this.#port.sendRelay(to, body);
      })
      .catch((err: unknown) => this.#debug(`sealing failed: ${String(err)}`));
    return true;
  }

  #takeToken(): boolean {
    const now = Date.now();
    if (now < this.#relayPausedUntil) return false;
    this.#tokens = Math.min(
      RELAY_BURST_FRAMES,
      this.#tokens + ((now - this.#tokensAt) * RELAY_FRAMES_PER_SECOND) / 1000,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #onTick(): void {
    const now = Date.now();
    for (const remote of [...this.#remotes]) remote.tick(now);
  }

  /** The one place the room's state changes. */
  #setState(next: RoomState): void {
    const previous = this.#state;
    if (previous === next || previous === 'left') return;
    this.#state = next;
    this.#debug(`${previous} -> ${next}`);
    this.emit('state', next, previous);
  }

  #debug(msg: string): void {
    this.#options.debug?.(`room ${this.id}: ${msg}`);
  }
}

/** Wires a Room to a port; returns the room and the inbound side the binding must feed. */
export function createRoom(port: RoomPort, options: RoomOptions): { room: Room; inbound: RoomInbound } {
  let inbound!: RoomInbound;
  const room = new Room(port, options, (i) => {
    inbound = i;
  });
  return { room, inbound };
}

function randomId(): string {
  const bytes = new Uint8Array(9);
  globalThis.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}
