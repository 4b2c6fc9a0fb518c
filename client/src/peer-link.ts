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
import { forSimplePeer, type WrtcImpl } from './webrtc.js';
import { LinkMedia } from './link-media.js';
import {
  BACKPRESSURE_POLL_MS,
  DATA_CHANNEL_HIGH_WATER_BYTES,
  ICE_RECOVERY_MS,
  ICE_TIMEOUT_MS,
  LINK_START_DELAY_MS,
  P2P_RETRY_BASE_MS,
  P2P_RETRY_MAX_MS,
} from './limits.js';

import type { LinkFailure, LinkTier } from '../../shared/src/signaling/messages.js';

export type { LinkFailure, LinkTier };

/**
 * Why a link is on the relay, as the application sees it: a LinkFailure, or 'relay-only' when
 * either end chose to make no peer connections (the wire report's failure is null then).
 */
export type LinkReason = LinkFailure | 'relay-only';

/**
 * Everything a link is doing, as one value:
 * - connecting: a peer connection is being set up or awaited; `failure` says why the previous
 *   one ended (null on the first attempt), and the owner sends over the relay meanwhile;
 * - open: the channel carries data; `tier` is null until the selected candidate pair is read;
 * - stalled: the channel is open but carries nothing (ICE disconnected, or no ack progress);
 * - no-webrtc: this end or the remote makes no peer connections: the relay, for good;
 * - destroyed.
 */
export type LinkPhase =
  | { readonly name: 'connecting'; readonly failure: LinkFailure | null }
  | { readonly name: 'open'; readonly tier: 'p2p' | 'turn' | null }
  | { readonly name: 'stalled' }
  | { readonly name: 'no-webrtc'; readonly reason: 'relay-only' | 'unsupported' }
  | { readonly name: 'destroyed' };

/** Our extra field on a simple-peer signal object. */
export interface SignalMarker {
  readonly v: 1;
  readonly gen: number;
  readonly cid: ClientId;
}
const SIGNAL_MARKER_FIELD = 'stomprtc';

export interface PeerLinkHandlers {
  signal(signal: Record<string, unknown>): void;
  data(data: string | Uint8Array): void;
  /** The tier the application sees changed (reason: why it is on the relay, else null). */
  tier(tier: LinkTier, reason: LinkReason | null): void;
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
  #phase: LinkPhase;
  /** What the application was last told; changes only through #enter(). */
  #view: { tier: LinkTier; reason: LinkReason | null };
  #connectMs: number | null = null;
  #gen = 0;
  #peer: Peer | undefined;
  /** Counts recoveries of the same channel: each one is a new path for the owner's outbox. */
  #pathEpoch = 0;
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  #startedAt = Date.now();
  #retries = 0;
  #turnAuthFailed = false;
  #iceTimer: ReturnType<typeof setTimeout> | undefined;
  /** An initiator's first attempt, waiting for begin() or LINK_START_DELAY_MS. */
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #early: { gen: number; signals: Array<Record<string, unknown>> } | undefined;
  readonly #media: LinkMedia;
  readonly #opts: PeerLinkOptions;

  constructor(
    opts: PeerLinkOptions,
    public handlers: PeerLinkHandlers,
  ) {
    this.#opts = opts;
    this.#media = new LinkMedia(
      opts.localStream ?? null,
      (s) => this.handlers.stream?.(s),
      (m) => this.#debug(m),
    );
    this.#phase = opts.wrtc
      ? { name: 'connecting', failure: null }
      : { name: 'no-webrtc', reason: opts.noWebrtcReason ?? 'unsupported' };
    this.#view = viewOf(this.#phase) ?? { tier: 'connecting', reason: null };
    if (!opts.wrtc) return;
    if (opts.initiator) this.#startTimer = setTimeout(() => this.begin(), LINK_START_DELAY_MS);
    else this.#armIceTimer();
  }

  get phase(): LinkPhase {
    return this.#phase;
  }
  get tier(): LinkTier {
    return this.#view.tier;
  }
  /** Why the link is on the relay (null otherwise). */
  get reason(): LinkReason | null {
    return this.#view.reason;
  }
  /** The wire report's failure: the reason, except relay-only by choice, which is no failure. */
  get failure(): LinkFailure | null {
    return this.#view.reason === 'relay-only' ? null : this.#view.reason;
  }
  /** Milliseconds from the start of the attempt that succeeded to its open channel. */
  get connectMs(): number | null {
    return this.#connectMs;
  }
  get generation(): number {
    return this.#gen;
  }
  get initiator(): boolean {
    return this.#opts.initiator;
  }
  /** The channel is open and carrying data (not stalled). */
  get channelOpen(): boolean {
    return this.#phase.name === 'open';
  }
  /** Identifies the current channel, so the owner knows what a path change may have lost. */
  get pathId(): string {
    return `dc:${this.#gen}:${this.#pathEpoch}`;
  }
  /** This link stays on the relay for good (no WebRTC here, or the remote said it has none). */
  get relayForGood(): boolean {
    return this.#phase.name === 'no-webrtc';
  }
  /** A simple-peer exists (or is about to) for the current generation. */
  get active(): boolean {
    return this.#peer !== undefined;
  }
  /** An initiator whose first attempt is still to start (see begin()). */
  get starting(): boolean {
    return this.#startTimer !== undefined;
  }

  /**
   * Starts an initiator's first attempt now, if it is still waiting: the owner calls this once the
   * relay path to the member is ready; LINK_START_DELAY_MS after the link was made it starts anyway.
   */
  begin(): void {
    if (this.#startTimer !== undefined) this.#start(0);
  }

  /** The channel accepts more without going over the high-water mark. */
  get writable(): boolean {
    return this.channelOpen && (this.#peer?._channel?.bufferedAmount ?? 0) < DATA_CHANNEL_HIGH_WATER_BYTES;
  }
  static readonly pollMs = BACKPRESSURE_POLL_MS;

  /** Writes one frame; false when the channel is not open. */
  send(frame: string | Uint8Array): boolean {
    if (!this.channelOpen || !this.#peer) return false;
    // Our phase learns of a closing channel an event late, and @roamhq/wrtc can crash the process
    // on a write into one (see remoteLeaving()): the channel's own state is asked first.
    if (this.#peer._channel?.readyState !== 'open') return false;
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
    if (this.#phase.name !== 'open') return;
    this.#debug(`channel stalled: ${why}`);
    this.#enter({ name: 'stalled' });
    clearTimeout(this.#recoveryTimer);
    const peer = this.#peer;
    this.#recoveryTimer = setTimeout(() => {
      if (this.#peer !== peer || this.#phase.name !== 'stalled') return;
      this.#debug(`no recovery within ${ICE_RECOVERY_MS} ms; replacing the peer connection`);
      this.#fail('channel-closed', 0);
    }, ICE_RECOVERY_MS);
  }

  /**
   * The remote announced (in its hello) that it makes no peer connections: relay-only by choice
   * or without a WebRTC implementation. Waiting for ICE would only delay the final tier by
   * ICE_TIMEOUT_MS and misreport it as an ICE failure.
   */
  remoteHasNoWebrtc(reason: 'relay-only' | 'unsupported'): void {
    if (this.#phase.name === 'destroyed' || this.#phase.name === 'no-webrtc') return;
    this.#clearTimers();
    this.#early = undefined;
    this.#dropPeer();
    this.#enter({ name: 'no-webrtc', reason });
  }

  /**
   * The remote said bye: it closes its peer connection any moment now. A write into a data channel
   * whose far end is closing can crash @roamhq/wrtc (a segfault in RTCDataChannel::Send: 4 of 5
   * processes that wrote while the far end closed, 40 tries each, died), so the link closes its
   * side first and stays closed; what is still sent to the member goes over the relay.
   */
  remoteLeaving(): void {
    if (this.#phase.name === 'destroyed' || this.#phase.name === 'no-webrtc') return;
    this.#debug('the remote said bye; closing our side');
    this.destroy();
  }

  /** A signal from the remote peer (our marker still on it, if it had one). */
  handleSignal(signal: Record<string, unknown>): void {
    if (this.#phase.name === 'destroyed' || this.#phase.name === 'no-webrtc') return;
    const marker = readMarker(signal);
    const gen = marker?.gen ?? 0;
    const plain = { ...signal };
    delete plain[SIGNAL_MARKER_FIELD];
    if (this.#opts.initiator) {
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

  /** Sends this stream's first audio and first video track (null: sends none); see LinkMedia. */
  setLocalStream(stream: MediaStream | null): void {
    this.#media.setLocalStream(stream);
  }

  /** The remote's media while it flows. */
  get remoteStream(): MediaStream | null {
    return this.#media.remoteStream;
  }

  destroy(): void {
    this.#clearTimers();
    this.#dropPeer();
    this.#phase = { name: 'destroyed' };
  }

  #start(gen: number): void {
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    if (this.#phase.name === 'no-webrtc' || this.#phase.name === 'destroyed') return;
    const wasOpen = this.#phase.name === 'open' || this.#phase.name === 'stalled';
    this.#dropPeer();
    if (wasOpen) this.#enter({ name: 'connecting', failure: 'channel-closed' });
    this.#gen = gen;
    this.#startedAt = Date.now();
    this.#turnAuthFailed = false;
    const peer = new SimplePeer({
      initiator: this.#opts.initiator,
      trickle: true,
      objectMode: true,
      config: { iceServers: [...this.#opts.iceServers] },
      wrtc: forSimplePeer(this.#opts.wrtc!) as SimplePeer.Options['wrtc'],
    }) as Peer;
    this.#peer = peer;
    const mine = () => this.#peer === peer && this.#phase.name !== 'destroyed';
    const hadChannel = () => this.#phase.name === 'open' || this.#phase.name === 'stalled';
    peer.on('signal', (signal: SimplePeer.SignalData) => {
      if (!mine()) return;
      const marker: SignalMarker = { v: 1, gen, cid: this.#opts.cid };
      this.handlers.signal({ ...(signal as Record<string, unknown>), [SIGNAL_MARKER_FIELD]: marker });
    });
    peer.on('connect', () => {
      if (mine()) this.#onOpen(peer);
    });
    peer.on('data', (data: unknown) => {
      if (!mine()) return;
      if (typeof data === 'string') this.handlers.data(data);
      else if (data instanceof Uint8Array)
        this.handlers.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    peer.on('close', () => {
      if (mine()) this.#fail(hadChannel() ? 'channel-closed' : this.#iceFailure());
    });
    peer.on('error', (err: Error & { code?: string }) => {
      if (!mine()) return;
      this.#debug(`peer error ${err.code ?? ''} ${err.message}`);
      this.#fail(hadChannel() ? 'channel-closed' : this.#iceFailure());
    });
    const pc = peer._pc;
    if (pc) this.#media.reserve(pc, this.#opts.initiator, mine);
    try {
      // Only browsers report TURN errors; 401 is "Unauthorized" from the TURN server (RFC 8656).
      pc?.addEventListener?.('icecandidateerror', (e: Event) => {
        if ((e as RTCPeerConnectionIceErrorEvent).errorCode === 401) this.#turnAuthFailed = true;
      });
      // simple-peer owns oniceconnectionstatechange and ignores `disconnected`; we listen beside it.
      pc?.addEventListener?.('iceconnectionstatechange', () => {
        if (mine()) this.#onIceState(pc.iceConnectionState);
      });
    } catch {
      /* wrtc may not support listeners on the connection */
    }
    this.#armIceTimer();
  }

  #armIceTimer(): void {
    clearTimeout(this.#iceTimer);
    this.#iceTimer = setTimeout(() => {
      if (this.#phase.name === 'connecting') this.#fail(this.#iceFailure());
    }, ICE_TIMEOUT_MS);
  }

  #iceFailure(): LinkFailure {
    if (this.#turnAuthFailed) return 'turn-auth';
    const hasTurn = this.#opts.iceServers.some((s) =>
      (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u)),
    );
    return hasTurn ? 'ice-timeout' : 'no-turn';
  }

  #onOpen(peer: Peer): void {
    clearTimeout(this.#iceTimer);
    this.#retries = 0;
    this.#connectMs = Date.now() - this.#startedAt;
    this.#enter({ name: 'open', tier: null });
    // The channel may open while ICE is already `disconnected` again (a path that is flapping).
    const ice = peer._pc?.iceConnectionState;
    if (ice === 'disconnected') {
      this.stall('ICE disconnected at open');
      return;
    }
    this.#readTier(peer);
  }

  /** p2p or turn, from the selected candidate pair (which may change after an ICE recovery). */
  #readTier(peer: Peer): void {
    peer.getStats((err, reports) => {
      if (this.#peer !== peer || this.#phase.name !== 'open') return;
      this.#enter({ name: 'open', tier: err ? 'p2p' : tierOfSelectedPair(reports) });
    });
  }

  #onIceState(state: RTCIceConnectionState): void {
    this.#debug(`ICE ${state} (${this.#phase.name})`);
    if (state === 'disconnected') {
      this.stall('ICE disconnected');
      return;
    }
    if ((state === 'connected' || state === 'completed') && this.#phase.name === 'stalled') {
      // Back on the same connection. What was written while it was stalled may or may not have
      // arrived (SCTP retransmits it if the association survived); a new path id makes the owner
      // write everything unacknowledged again, and the receiver drops what it already has.
      clearTimeout(this.#recoveryTimer);
      this.#pathEpoch++;
      this.#enter({ name: 'open', tier: null });
      this.#debug(`channel recovered (path ${this.pathId})`);
      this.#readTier(this.#peer!);
    }
  }

  /** firstDelayMs overrides the backoff delay of this retry: 0 after a stall, which already gave
   * ICE its chance to recover. The backoff still advances. */
  #fail(failure: LinkFailure, firstDelayMs?: number): void {
    if (this.#phase.name === 'destroyed' || this.#phase.name === 'no-webrtc') return;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#recoveryTimer);
    this.#dropPeer();
    this.#enter({ name: 'connecting', failure });
    if (!this.#opts.initiator) return;
    const backoff = Math.min(P2P_RETRY_MAX_MS, P2P_RETRY_BASE_MS * 2 ** this.#retries++);
    const delay = firstDelayMs ?? backoff;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      if (this.#phase.name === 'connecting') this.#start(this.#gen + 1);
    }, delay);
  }

  #dropPeer(): void {
    const peer = this.#peer;
    this.#peer = undefined;
    this.#media.reset();
    if (peer) {
      try {
        peer.destroy();
      } catch {
        /* already gone */
      }
    }
  }

  #clearTimers(): void {
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    clearTimeout(this.#iceTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#recoveryTimer);
  }

  /** The one place the phase changes; tells the owner when what the application sees changed. */
  #enter(next: LinkPhase): void {
    if (this.#phase.name === 'destroyed') return;
    this.#phase = next;
    const view = viewOf(next);
    if (!view || (view.tier === this.#view.tier && view.reason === this.#view.reason)) return;
    this.#view = view;
    this.handlers.tier(view.tier, view.reason);
  }

  #debug(msg: string): void {
    this.#opts.debug?.(`link gen ${this.#gen}: ${msg}`);
  }
}

/** What the application sees of a phase; undefined: unchanged (an open channel whose tier is not read yet). */
function viewOf(phase: LinkPhase): { tier: LinkTier; reason: LinkReason | null } | undefined {
  switch (phase.name) {
    case 'connecting':
      return phase.failure ? { tier: 'relay', reason: phase.failure } : { tier: 'connecting', reason: null };
    case 'open':
      return phase.tier ? { tier: phase.tier, reason: null } : undefined;
    case 'stalled':
      return { tier: 'relay', reason: 'channel-closed' };
    case 'no-webrtc':
      return { tier: 'relay', reason: phase.reason };
    case 'destroyed':
      return undefined;
  }
}

export function readMarker(signal: Record<string, unknown>): SignalMarker | undefined {
  const m = signal[SIGNAL_MARKER_FIELD] as Partial<SignalMarker> | undefined;
  if (!m || typeof m !== 'object' || typeof m.cid !== 'string' || !Number.isSafeInteger(m.gen)) return undefined;
  return { v: 1, gen: m.gen!, cid: m.cid };
}

/** 'turn' when either end of the selected candidate pair is a relay candidate, else 'p2p'. */
function tierOfSelectedPair(reports: ReadonlyArray<Record<string, unknown>>): 'p2p' | 'turn' {
  const byId = new Map(reports.map((r) => [r.id as string, r]));
  const transport = reports.find((r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string');
  const pair =
    (transport && byId.get(transport.selectedCandidatePairId as string)) ??
    reports.find(
      (r) => r.type === 'candidate-pair' && (r.selected === true || (r.nominated === true && r.state === 'succeeded')),
    );
  if (!pair) return 'p2p';
  const local = byId.get(pair.localCandidateId as string);
  const remote = byId.get(pair.remoteCandidateId as string);
  return local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'p2p';
}
