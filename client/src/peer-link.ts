/**
 * The WebRTC path to one remote peer: one simple-peer at a time, replaced by a new one (a new
 * generation) after a failure, because simple-peer has no ICE restart. Reports its tier from the
 * selected ICE candidate pair and classifies failures. It never waits for anything: while it has
 * no open channel the owner sends over the relay.
 *
 * Generation agreement: only the initiator starts a new generation; its signals carry
 * `stomprtc: { gen, cid }` as an extra field of the simple-peer signal object, and the other side
 * replaces its peer when a higher generation arrives. A peer without the field is generation 0.
 *
 * Liveness: simple-peer reacts only to a closed channel or ICE `failed`, but after a long outage
 * libwebrtc may leave ICE `disconnected` and the channel `open` forever. So an open channel is
 * also *stalled* on ICE `disconnected` (watched on the RTCPeerConnection) or when the owner sees
 * no ack progress on it (stall()): the link reports `relay` at once, and either ICE comes back on
 * the same connection within ICE_RECOVERY_MS (a new path id, so the owner resends on it) or the
 * connection is replaced by a new generation.
 */
import SimplePeer from 'simple-peer';
import type { ClientId } from './envelope.js';
import type { WrtcImpl } from './webrtc.js';
import {
  BACKPRESSURE_POLL_MS, DATA_CHANNEL_HIGH_WATER_BYTES, ICE_RECOVERY_MS, ICE_TIMEOUT_MS, P2P_RETRY_BASE_MS,
  P2P_RETRY_MAX_MS,
} from './limits.js';

import type { LinkFailure, LinkTier } from '../../shared/src/signaling/messages.js';

export type { LinkFailure, LinkTier };

/** Our extra field on a simple-peer signal object. */
export interface SignalMarker { readonly v: 1; readonly gen: number; readonly cid: ClientId }
export const SIGNAL_MARKER_FIELD = 'stomprtc';

export interface PeerLinkHandlers {
  signal(signal: Record<string, unknown>): void;
  data(data: string | Uint8Array): void;
  tier(tier: LinkTier, failure: LinkFailure | null): void;
  /** Media from the remote started flowing (a stream), or stopped or went away with the connection (null). */
  stream?(stream: MediaStream | null): void;
}

export interface PeerLinkOptions {
  readonly initiator: boolean;
  /** Undefined: relay only. */
  readonly wrtc: WrtcImpl | undefined;
  /** Why there is no WebRTC: chosen (relay-only mode) or missing. */
  readonly noWebrtcReason?: 'relay-only' | 'unsupported';
  readonly iceServers: readonly RTCIceServer[];
  readonly cid: ClientId;
  /** Media to send from the start (see setLocalStream). */
  readonly localStream?: MediaStream | null;
  readonly debug?: (msg: string) => void;
}

interface SimplePeerInternals {
  _pc?: RTCPeerConnection;
  _channel?: RTCDataChannel;
  getStats(cb: (err: Error | null, reports: Array<Record<string, unknown>>) => void): void;
}
type Peer = SimplePeer.Instance & SimplePeerInternals;

export class PeerLink {
  #tier: LinkTier;
  #failure: LinkFailure | null = null;
  #connectMs: number | null = null;
  #gen = 0;
  #peer: Peer | undefined;
  #open = false;
  /** Open but not carrying data (ICE disconnected or no ack progress); the owner uses the relay. */
  #stalled = false;
  /** Counts recoveries of the same channel: each one is a new path for the owner's outbox. */
  #pathEpoch = 0;
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The remote makes no peer connections (it said so in its hello): stay on the relay. */
  #remoteWithoutWebrtc = false;
  #startedAt = Date.now();
  #retries = 0;
  #turnAuthFailed = false;
  #iceTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #destroyed = false;
  #early: { gen: number; signals: Array<Record<string, unknown>> } | undefined;
  #localStream: MediaStream | null;
  /** Non-null while the remote's media flows. */
  #remoteStream: MediaStream | null = null;
  /** The audio and video transceivers of the current connection, once known. */
  #media: Partial<Record<MediaKind, RTCRtpTransceiver>> = {};

  constructor(private readonly opts: PeerLinkOptions, public handlers: PeerLinkHandlers) {
    this.#localStream = opts.localStream ?? null;
    if (!opts.wrtc) {
      this.#tier = 'relay';
      if (opts.noWebrtcReason !== 'relay-only') this.#failure = 'unsupported';
      return;
    }
    this.#tier = 'connecting';
    if (opts.initiator) this.#start(0);
    else this.#armIceTimer();
  }

  get tier(): LinkTier { return this.#tier; }
  get failure(): LinkFailure | null { return this.#failure; }
  /** Milliseconds from the start of the attempt that succeeded to its open channel. */
  get connectMs(): number | null { return this.#connectMs; }
  get generation(): number { return this.#gen; }
  get initiator(): boolean { return this.opts.initiator; }
  /** The channel is open and carrying data (not stalled). */
  get channelOpen(): boolean { return this.#open && !this.#stalled; }
  /** Identifies the current channel, so the owner knows what a path change may have lost. */
  get pathId(): string { return `dc:${this.#gen}:${this.#pathEpoch}`; }
  /** The remote said it makes no peer connections; this link stays on the relay. */
  get remoteWithoutWebrtc(): boolean { return this.#remoteWithoutWebrtc; }
  /** A simple-peer exists (or is about to) for the current generation. */
  get active(): boolean { return this.#peer !== undefined; }

  /** The channel accepts more without going over the high-water mark. */
  get writable(): boolean {
    return this.channelOpen && (this.#peer?._channel?.bufferedAmount ?? 0) < DATA_CHANNEL_HIGH_WATER_BYTES;
  }
  static readonly pollMs = BACKPRESSURE_POLL_MS;

  /** Writes one frame; false when the channel is not open. */
  send(frame: string | Uint8Array): boolean {
    if (!this.channelOpen || !this.#peer) return false;
    try {
      this.#peer.send(frame);
      return true;
    } catch (err) {
      this.#debug(`send failed: ${String(err)}`);
      this.#fail('channel-closed');
      return false;
    }
  }

  /**
   * The owner saw no ack progress on the open channel: treat it as stalled, as on ICE
   * `disconnected`. Recovery then needs ICE to come back (a transition to connected/completed);
   * without one the connection is replaced after ICE_RECOVERY_MS.
   */
  stall(why: string): void {
    if (this.#destroyed || !this.#open || this.#stalled) return;
    this.#debug(`channel stalled: ${why}`);
    this.#stalled = true;
    this.#setTier('relay', 'channel-closed');
    clearTimeout(this.#recoveryTimer);
    const peer = this.#peer;
    this.#recoveryTimer = setTimeout(() => {
      if (this.#peer !== peer || !this.#stalled || this.#destroyed) return;
      this.#debug(`no recovery within ${ICE_RECOVERY_MS} ms; replacing the peer connection`);
      this.#fail('channel-closed', 0);
    }, ICE_RECOVERY_MS);
  }

  /**
   * The remote announced (in its hello) that it makes no peer connections: relay-only by choice
   * (failure null) or without a WebRTC implementation ('unsupported'). Waiting for ICE would only
   * delay the final tier by ICE_TIMEOUT_MS and misreport it as an ICE failure.
   */
  remoteHasNoWebrtc(reason: 'relay-only' | 'unsupported'): void {
    if (this.#destroyed || !this.opts.wrtc || this.#remoteWithoutWebrtc) return;
    this.#remoteWithoutWebrtc = true;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#recoveryTimer);
    this.#early = undefined;
    this.#dropPeer();
    this.#setTier('relay', reason === 'unsupported' ? 'unsupported' : null);
  }

  /** A signal from the remote peer (our marker still on it, if it had one). */
  handleSignal(signal: Record<string, unknown>): void {
    if (this.#destroyed || !this.opts.wrtc || this.#remoteWithoutWebrtc) return;
    const marker = readMarker(signal);
    const gen = marker?.gen ?? 0;
    const plain = { ...signal };
    delete plain[SIGNAL_MARKER_FIELD];
    if (this.opts.initiator) {
      if (gen !== this.#gen || !this.#peer) return;
    } else if (gen < this.#gen) {
      return;
    } else if (gen > this.#gen || !this.#peer) {
      // A new generation starts with its offer; trickled candidates that overtake it wait.
      if (plain.type !== 'offer') {
        if (this.#early?.gen !== gen) this.#early = { gen, signals: [] };
        this.#early.signals.push(plain);
        return;
      }
      const early = this.#early?.gen === gen ? this.#early.signals : [];
      this.#early = undefined;
      this.#start(gen);
      this.#feed(plain);
      for (const s of early) this.#feed(s);
      return;
    }
    this.#feed(plain);
  }

  #feed(plain: Record<string, unknown>): void {
    try {
      this.#peer?.signal(plain as unknown as SimplePeer.SignalData);
    } catch (err) {
      this.#debug(`signal rejected: ${String(err)}`);
    }
  }

  /**
   * Sends this stream's first audio and first video track (null: sends none). Every connection
   * reserves one audio and one video transceiver in its first negotiation, so media starts and
   * stops with replaceTrack() and never renegotiates (no offer glare when both ends start at once).
   */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    this.#applyLocalMedia();
  }

  /** The remote's media while it flows. */
  get remoteStream(): MediaStream | null { return this.#remoteStream; }

  destroy(): void {
    this.#destroyed = true;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#recoveryTimer);
    this.#dropPeer();
  }

  #start(gen: number): void {
    if (this.#remoteWithoutWebrtc) return;
    const wasOpen = this.#open;
    this.#dropPeer();
    if (wasOpen) this.#setTier('relay', 'channel-closed');
    this.#gen = gen;
    this.#startedAt = Date.now();
    this.#turnAuthFailed = false;
    const peer = new SimplePeer({
      initiator: this.opts.initiator,
      trickle: true,
      objectMode: true,
      config: { iceServers: [...this.opts.iceServers] },
      wrtc: this.opts.wrtc as SimplePeer.Options['wrtc'],
    }) as Peer;
    this.#peer = peer;
    const mine = () => this.#peer === peer && !this.#destroyed;
    peer.on('signal', (signal: SimplePeer.SignalData) => {
      if (!mine()) return;
      const marker: SignalMarker = { v: 1, gen, cid: this.opts.cid };
      this.handlers.signal({ ...(signal as Record<string, unknown>), [SIGNAL_MARKER_FIELD]: marker });
    });
    peer.on('connect', () => { if (mine()) this.#onOpen(peer); });
    peer.on('data', (data: unknown) => {
      if (!mine()) return;
      if (typeof data === 'string') this.handlers.data(data);
      else if (data instanceof Uint8Array) this.handlers.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    peer.on('close', () => { if (mine()) this.#fail(this.#open ? 'channel-closed' : this.#iceFailure()); });
    peer.on('error', (err: Error & { code?: string }) => {
      if (!mine()) return;
      this.#debug(`peer error ${err.code ?? ''} ${err.message}`);
      this.#fail(this.#open ? 'channel-closed' : this.#iceFailure());
    });
    const pc = peer._pc as (RTCPeerConnection & { addEventListener?: RTCPeerConnection['addEventListener'] }) | undefined;
    if (pc) this.#reserveMedia(pc, mine);
    try {
      // Only browsers report TURN errors; 401 is "Unauthorized" from the TURN server (RFC 8656).
      pc?.addEventListener?.('icecandidateerror', (e: Event) => {
        if ((e as RTCPeerConnectionIceErrorEvent).errorCode === 401) this.#turnAuthFailed = true;
      });
      // simple-peer owns oniceconnectionstatechange and ignores `disconnected`; we listen beside it.
      pc?.addEventListener?.('iceconnectionstatechange', () => {
        if (mine()) this.#onIceState(pc.iceConnectionState);
      });
    } catch { /* wrtc may not support listeners on the connection */ }
    this.#armIceTimer();
  }

  /**
   * The initiator adds a sendrecv audio and video transceiver before its first offer (simple-peer
   * creates the offer in a microtask); the answerer adopts the matching transceivers as their
   * track events arrive, before simple-peer creates the answer, and answers sendrecv.
   */
  #reserveMedia(pc: RTCPeerConnection, mine: () => boolean): void {
    if (typeof MediaStream !== 'function' || typeof pc.addTransceiver !== 'function') return;
    try {
      if (this.opts.initiator) {
        for (const kind of MEDIA_KINDS) this.#adopt(kind, pc.addTransceiver(kind, { direction: 'sendrecv' }), mine);
        return;
      }
      pc.addEventListener('track', (e: RTCTrackEvent) => {
        const kind = e.track.kind as MediaKind;
        if (!mine() || !MEDIA_KINDS.includes(kind) || this.#media[kind]) return;
        e.transceiver.direction = 'sendrecv';
        this.#adopt(kind, e.transceiver, mine);
      });
    } catch (err) {
      this.#debug(`no media on this connection: ${String(err)}`);
    }
  }

  #adopt(kind: MediaKind, transceiver: RTCRtpTransceiver, mine: () => boolean): void {
    this.#media[kind] = transceiver;
    // A received track is muted until packets arrive, and muted again when they stop.
    const changed = () => { if (mine()) this.#remoteMediaChanged(); };
    transceiver.receiver.track.addEventListener('unmute', changed);
    transceiver.receiver.track.addEventListener('mute', changed);
    this.#applyLocalMedia();
    this.#remoteMediaChanged();
  }

  #applyLocalMedia(): void {
    for (const kind of MEDIA_KINDS) {
      const sender = this.#media[kind]?.sender;
      const track = this.#localStream?.getTracks().find((t) => t.kind === kind) ?? null;
      if (!sender || sender.track === track) continue;
      sender.replaceTrack(track).catch((err: unknown) => this.#debug(`${kind} track not replaced: ${String(err)}`));
    }
  }

  #remoteMediaChanged(): void {
    const tracks = MEDIA_KINDS.flatMap((kind) => this.#media[kind]?.receiver.track ?? []);
    const flowing = tracks.some((t) => !t.muted && t.readyState === 'live');
    if (flowing === (this.#remoteStream !== null)) return;
    this.#remoteStream = flowing ? new MediaStream(tracks) : null;
    this.handlers.stream?.(this.#remoteStream);
  }

  #armIceTimer(): void {
    clearTimeout(this.#iceTimer);
    this.#iceTimer = setTimeout(() => {
      if (!this.#open && !this.#destroyed) this.#fail(this.#iceFailure());
    }, ICE_TIMEOUT_MS);
  }

  #iceFailure(): LinkFailure {
    if (this.#turnAuthFailed) return 'turn-auth';
    const hasTurn = this.opts.iceServers.some((s) =>
      (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u)));
    return hasTurn ? 'ice-timeout' : 'no-turn';
  }

  #onOpen(peer: Peer): void {
    clearTimeout(this.#iceTimer);
    this.#open = true;
    this.#stalled = false;
    this.#retries = 0;
    this.#failure = null;
    this.#connectMs = Date.now() - this.#startedAt;
    // The channel may open while ICE is already `disconnected` again (a path that is flapping).
    const ice = peer._pc?.iceConnectionState;
    if (ice === 'disconnected') { this.stall('ICE disconnected at open'); return; }
    this.#reportTier(peer);
  }

  /** p2p or turn, from the selected candidate pair (which may change after an ICE recovery). */
  #reportTier(peer: Peer): void {
    peer.getStats((err, reports) => {
      if (this.#peer !== peer || this.#destroyed || !this.channelOpen) return;
      const tier = err ? 'p2p' : tierOfSelectedPair(reports);
      this.#setTier(tier, null);
    });
  }

  #onIceState(state: RTCIceConnectionState): void {
    this.#debug(`ICE ${state}${this.#stalled ? ' (stalled)' : ''}`);
    if (!this.#open) return;
    if (state === 'disconnected') { this.stall('ICE disconnected'); return; }
    if ((state === 'connected' || state === 'completed') && this.#stalled) {
      // Back on the same connection. What was written while it was stalled may or may not have
      // arrived (SCTP retransmits it if the association survived); a new path id makes the owner
      // write everything unacknowledged again, and the receiver drops what it already has.
      clearTimeout(this.#recoveryTimer);
      this.#stalled = false;
      this.#pathEpoch++;
      this.#debug(`channel recovered (path ${this.pathId})`);
      this.#reportTier(this.#peer!);
    }
  }

  /** firstDelayMs overrides the backoff delay of this retry: 0 after a stall, which already gave
   * ICE its chance to recover. The backoff still advances. */
  #fail(reason: LinkFailure, firstDelayMs?: number): void {
    if (this.#destroyed) return;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#recoveryTimer);
    this.#dropPeer();
    this.#setTier('relay', reason);
    if (!this.opts.initiator || this.#remoteWithoutWebrtc) return;
    const backoff = Math.min(P2P_RETRY_MAX_MS, P2P_RETRY_BASE_MS * 2 ** this.#retries++);
    const delay = firstDelayMs ?? backoff;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => { if (!this.#destroyed) this.#start(this.#gen + 1); }, delay);
  }

  #dropPeer(): void {
    const peer = this.#peer;
    this.#peer = undefined;
    this.#open = false;
    this.#media = {};
    this.#remoteMediaChanged();
    this.#stalled = false;
    if (peer) {
      try { peer.destroy(); } catch { /* already gone */ }
    }
  }

  #setTier(tier: LinkTier, failure: LinkFailure | null): void {
    if (tier === this.#tier && failure === this.#failure) return;
    this.#tier = tier;
    this.#failure = failure;
    this.handlers.tier(tier, failure);
  }

  #debug(msg: string): void { this.opts.debug?.(`link gen ${this.#gen}: ${msg}`); }
}

type MediaKind = 'audio' | 'video';
const MEDIA_KINDS: readonly MediaKind[] = ['audio', 'video'];

export function readMarker(signal: Record<string, unknown>): SignalMarker | undefined {
  const m = signal[SIGNAL_MARKER_FIELD] as Partial<SignalMarker> | undefined;
  if (!m || typeof m !== 'object' || typeof m.cid !== 'string' || !Number.isSafeInteger(m.gen)) return undefined;
  return { v: 1, gen: m.gen!, cid: m.cid };
}

/** 'turn' when either end of the selected candidate pair is a relay candidate, else 'p2p'. */
export function tierOfSelectedPair(reports: ReadonlyArray<Record<string, unknown>>): 'p2p' | 'turn' {
  const byId = new Map(reports.map((r) => [r.id as string, r]));
  const transport = reports.find((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string');
  const pair = (transport && byId.get(transport.selectedCandidatePairId as string))
    ?? reports.find((r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')));
  if (!pair) return 'p2p';
  const local = byId.get(pair.localCandidateId as string);
  const remote = byId.get(pair.remoteCandidateId as string);
  return local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'p2p';
}
