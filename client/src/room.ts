/**
 * A room: presence (who is here, under which peer id), the full mesh of links (one RemotePeer per
 * member), and the message API. Depends only on RoomPort, so tests cross-wire rooms in memory.
 */
import { TypedEmitter } from './events.js';
import { ClientError, type RoomErrorInfo } from './errors.js';
import { splitMessage } from './chunker.js';
import type { ClientId } from './envelope.js';
import { readMarker, type LinkFailure, type LinkTier } from './peer-link.js';
import { RemotePeer, type IncomingMessage, type Peer, type RemoteContext } from './remote-peer.js';
import type { LinkReport, PeerId, PeerInfo, RoomInbound, RoomPort, WelcomeMessage } from './room-port.js';
import type { WrtcImpl } from './webrtc.js';
import {
  DATA_CHANNEL_MESSAGE_BYTES, DEFAULT_RELAY_MAX_BYTES, ENVELOPE_HEADER_RESERVE_BYTES, RATE_LIMITED_PAUSE_MS,
  REJOIN_GRACE_MS, RELAY_BURST_FRAMES, RELAY_FRAMES_PER_SECOND,
} from './limits.js';

export type { Peer } from './remote-peer.js';

export interface RoomMessage {
  /** Current peer id of the sender. */
  readonly from: PeerId;
  readonly data: string | Uint8Array;
  /** Message id and sequence number; undefined for data from a plain (envelope-less) peer. */
  readonly id?: string;
  readonly seq?: number;
}

export interface StreamEvent {
  readonly peerId: PeerId;
  readonly stream: MediaStream | null;
}

export interface LinkStateEvent {
  readonly peerId: PeerId;
  readonly state: LinkTier;
  readonly reason?: LinkFailure;
}

/** 'left': unsubscribed, said bye or was never a stomprtc client; 'timeout': gone and did not
 * come back within the rejoin grace. */
export type PeerLeftReason = 'left' | 'timeout';

export type RoomEvents = {
  'peer-joined': (peer: Peer) => void;
  'peer-left': (peer: Peer, reason: PeerLeftReason) => void;
  /** The same client came back under a new peer id after a signaling reconnect. */
  'peer-reconnected': (peer: Peer, previousId: PeerId) => void;
  message: (msg: RoomMessage) => void;
  'link-state': (event: LinkStateEvent) => void;
  /** A member's media started flowing over its peer connection (a stream), or stopped (null). */
  stream: (event: StreamEvent) => void;
  error: (err: RoomErrorInfo) => void;
};

export interface RoomOptions {
  readonly roomId: string;
  readonly name: string;
  /** Undefined: relay only (chosen, or no WebRTC available). */
  readonly wrtc: WrtcImpl | undefined;
  readonly relayOnly: boolean;
  /** @default REJOIN_GRACE_MS */
  readonly rejoinGraceMs?: number;
  readonly debug?: (msg: string) => void;
}

type RoomState = 'joining' | 'joined' | 'left';
const TICK_MS = 250;

export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly clientId: ClientId = randomId();
  #self: PeerInfo;
  #state: RoomState = 'joining';
  #iceServers: readonly RTCIceServer[] = [];
  #chunkBytes = DATA_CHANNEL_MESSAGE_BYTES - ENVELOPE_HEADER_RESERVE_BYTES;
  #messageCounter = 0;
  readonly #remotes = new Set<RemotePeer>();
  readonly #byPeer = new Map<PeerId, RemotePeer>();
  readonly #byCid = new Map<ClientId, RemotePeer>();
  #tokens = RELAY_BURST_FRAMES;
  #tokensAt = Date.now();
  #relayPausedUntil = 0;
  readonly #tick: ReturnType<typeof setInterval>;
  readonly #joined: Promise<void>;
  #resolveJoined!: () => void;
  #rejectJoined!: (err: Error) => void;
  readonly #ctx: RemoteContext;
  #localStream: MediaStream | null = null;

  constructor(private readonly port: RoomPort, private readonly options: RoomOptions, wire: (inbound: RoomInbound) => void) {
    super();
    this.id = options.roomId;
    this.#self = { id: '', name: options.name };
    this.#joined = new Promise((resolve, reject) => { this.#resolveJoined = resolve; this.#rejectJoined = reject; });
    this.#joined.catch(() => undefined);
    this.#ctx = {
      cid: this.clientId,
      port,
      noWebrtc: options.relayOnly ? 'relay-only' : options.wrtc ? undefined : 'unsupported',
      awaitingRejoin: () => [...this.#remotes].some((r) => r.graceTimer !== undefined),
      relaySend: (to, body) => this.#relaySend(to, body),
      learnCid: (remote, cid) => this.#learnCid(remote, cid),
      deliver: (remote, msg) => this.#deliver(remote, msg),
      tierChanged: (remote, tier, failure) => this.#tierChanged(remote, tier, failure),
      streamChanged: (remote, stream) => {
        if (this.#state !== 'left' && this.#remotes.has(remote)) this.emit('stream', { peerId: remote.peerId, stream });
      },
      byeReceived: (remote) => { if (remote.graceTimer) this.#remove(remote, 'left'); },
      debug: (msg) => this.#debug(msg),
    };
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    (this.#tick as { unref?: () => void }).unref?.();
    wire(this.#inbound);
  }

  /** Resolves on the first welcome; rejects when the server refuses the join. */
  get joined(): Promise<void> { return this.#joined; }
  get self(): PeerInfo { return { ...this.#self }; }
  get peers(): Peer[] { return [...this.#remotes].map((r) => r.info); }

  /** Sends to every other member. Throws OUTBOX_FULL (sending to nobody) at the outbox bound. */
  send(data: string | Uint8Array): void {
    this.#sendTo([...this.#remotes], data);
  }

  /** Sends to one member, by its current (or a previous) peer id. */
  sendTo(peerId: PeerId, data: string | Uint8Array): void {
    const remote = this.#byPeer.get(peerId);
    if (!remote) throw new ClientError('UNKNOWN_PEER', `no member ${peerId} in room ${this.id}`);
    this.#sendTo([remote], data);
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

  async leave(): Promise<void> {
    if (this.#state === 'left') return;
    for (const remote of this.#remotes) remote.sayBye();
    this.#close(new ClientError('NOT_IN_ROOM', `left room ${this.id}`));
    await this.port.leave().catch(() => undefined);
  }

  /** Ends the room without telling anyone (the session is closing or the join failed). */
  close(reason: Error): void { this.#close(reason); }

  #close(reason: Error): void {
    if (this.#state === 'left') return;
    this.#state = 'left';
    this.#rejectJoined(reason);
    clearInterval(this.#tick);
    for (const remote of this.#remotes) remote.destroy();
    this.#remotes.clear();
    this.#byPeer.clear();
    this.#byCid.clear();
  }

  #sendTo(remotes: RemotePeer[], data: string | Uint8Array): void {
    if (this.#state === 'left') throw new ClientError('NOT_IN_ROOM', `room ${this.id} was left`);
    const split = splitMessage(data, this.#chunkBytes);
    for (const r of remotes) r.assertRoom(split);
    const id = `${this.clientId}-${++this.#messageCounter}`;
    for (const r of remotes) r.enqueue(id, data, split);
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
      if (remote.peerId !== peerId) { this.#byPeer.delete(peerId); return; }
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
      if (err.code === 'RATE_LIMITED') { this.#relayPausedUntil = Date.now() + RATE_LIMITED_PAUSE_MS; return; }
      // A peer that just reconnected is briefly unknown under its old id; the outbox resends.
      if (err.code === 'UNKNOWN_PEER') { this.#debug(err.message); return; }
      if (this.#state === 'joining') { this.#rejectJoined(new ClientError(err.code, err.message)); this.#close(new ClientError(err.code, err.message)); }
      this.emit('error', err);
    },
    signalingLost: () => this.#debug('signaling lost; links stay up'),
  };

  #onWelcome(msg: WelcomeMessage): void {
    if (this.#state === 'left') return;
    const rejoin = this.#state === 'joined';
    this.#self = { id: msg.self, name: this.#self.name };
    this.#iceServers = msg.iceServers ?? [];
    const relayMax = msg.limits?.relayMaxBytes ?? DEFAULT_RELAY_MAX_BYTES;
    // One chunk size fits both paths: relay frames carry bytes in base64 (4/3 larger).
    this.#chunkBytes = Math.max(1024, Math.min(
      DATA_CHANNEL_MESSAGE_BYTES - ENVELOPE_HEADER_RESERVE_BYTES,
      Math.floor(((relayMax - ENVELOPE_HEADER_RESERVE_BYTES) * 3) / 4) - 4,
    ));
    const present = new Set(msg.peers.map((p) => p.id));
    for (const peer of msg.peers) {
      if (peer.id === msg.self) continue;
      const known = this.#byPeer.get(peer.id);
      if (known) known.name = peer.name || known.name;
      else this.#addRemote(peer, true, rejoin);
    }
    if (rejoin) {
      for (const remote of [...this.#remotes]) {
        if (!present.has(remote.peerId) && !remote.graceTimer) this.#depart(remote);
        else if (remote.kind === 'stomprtc') { remote.sayHello(true, true); remote.pump(); }
        else if (remote.kind === 'unknown') remote.restartDetection(Date.now());
      }
    }
    this.#state = 'joined';
    this.#resolveJoined();
  }

  #addRemote(peer: PeerInfo, initiator: boolean, announce: boolean): RemotePeer {
    const remote = new RemotePeer(peer.id, peer.name, {
      initiator,
      wrtc: this.options.relayOnly ? undefined : this.options.wrtc,
      noWebrtcReason: this.options.relayOnly ? 'relay-only' : 'unsupported',
      iceServers: this.#iceServers,
      cid: this.clientId,
      localStream: this.#localStream,
      debug: (m) => this.#debug(`${peer.id}: ${m}`),
    }, this.#ctx);
    this.#remotes.add(remote);
    this.#byPeer.set(peer.id, remote);
    remote.sayHello(false);
    this.#report(remote);
    if (announce) this.emit('peer-joined', remote.info);
    return remote;
  }

  /** Binds a client id to a remote; merges with the remote already holding that id. */
  #learnCid(remote: RemotePeer, cid: ClientId): RemotePeer {
    if (remote.cid === cid) return remote;
    const owner = this.#byCid.get(cid);
    if (!owner) {
      if (remote.cid !== undefined) this.#byCid.delete(remote.cid);
      this.#byCid.set(cid, remote);
      remote.becomeStomprtc(cid);
      return remote;
    }
    if (owner === remote) return remote;
    // The same client under a new peer id: continue its conversation, drop the stand-in.
    const previousId = owner.peerId;
    owner.peerId = remote.peerId;
    owner.name = remote.name || owner.name;
    clearTimeout(owner.graceTimer);
    owner.graceTimer = undefined;
    const adopt = !owner.link.channelOpen && !owner.link.remoteWithoutWebrtc && remote.link.active && remote.link.initiator;
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
    if (remote.kind !== 'stomprtc' || remote.saidBye) { this.#remove(remote, 'left'); return; }
    if (remote.graceTimer) return;
    remote.graceTimer = setTimeout(() => this.#remove(remote, 'timeout'), this.options.rejoinGraceMs ?? REJOIN_GRACE_MS);
  }

  #remove(remote: RemotePeer, reason: PeerLeftReason): void {
    if (!this.#remotes.delete(remote)) return;
    remote.destroy();
    for (const [id, r] of this.#byPeer) if (r === remote) this.#byPeer.delete(id);
    if (remote.cid !== undefined && this.#byCid.get(remote.cid) === remote) this.#byCid.delete(remote.cid);
    this.emit('peer-left', remote.info, reason);
  }

  #deliver(remote: RemotePeer, msg: IncomingMessage): void {
    if (this.#state === 'left') return;
    this.emit('message', { from: remote.peerId, ...msg });
  }

  #tierChanged(remote: RemotePeer, tier: LinkTier, failure: LinkFailure | null): void {
    if (this.#state === 'left' || !this.#remotes.has(remote)) return;
    this.#report(remote);
    this.emit('link-state', { peerId: remote.peerId, state: tier, ...(failure ? { reason: failure } : {}) });
  }

  #report(remote: RemotePeer): void {
    const report: LinkReport = {
      type: 'link', peer: remote.peerId, tier: remote.link.tier,
      connectMs: remote.link.connectMs, failure: remote.link.failure,
    };
    this.port.sendReport(report);
  }

  /** Token bucket under the server's per-session rate limit. */
  #relaySend(to: PeerId, body: string): boolean {
    const now = Date.now();
    if (now < this.#relayPausedUntil || this.port.epoch === undefined) return false;
    this.#tokens = Math.min(RELAY_BURST_FRAMES, this.#tokens + ((now - this.#tokensAt) * RELAY_FRAMES_PER_SECOND) / 1000);
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    if (!this.port.sendRelay(to, body)) return false;
    this.#tokens -= 1;
    return true;
  }

  #onTick(): void {
    const now = Date.now();
    for (const remote of [...this.#remotes]) remote.tick(now);
  }

  #debug(msg: string): void { this.options.debug?.(`room ${this.id}: ${msg}`); }
}

/** Wires a Room to a port; returns the room and the inbound side the binding must feed. */
export function createRoom(port: RoomPort, options: RoomOptions): { room: Room; inbound: RoomInbound } {
  let inbound!: RoomInbound;
  const room = new Room(port, options, (i) => { inbound = i; });
  return { room, inbound };
}

function randomId(): string {
  const bytes = new Uint8Array(9);
  globalThis.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}
