/**
 * The signaling session: one @stomp/stompjs Client, a state machine with a single setter, reconnect
 * timing from an injected policy, and one RoomPort binding per joined room. After a reconnect the
 * server assigns a new peer id; stompjs runs onConnect again and we rejoin every room there, while
 * established data channels carry on untouched.
 */
import { Client, type IFrame, type IMessage, type StompSubscription } from '@stomp/stompjs';
import { ERROR_CATALOGUE, type ErrorCode } from '../../shared/src/errors.js';
import { unescapeHeader } from '../../shared/src/stomp/header-escape.js';
import { DESTINATIONS, roomDestination } from '../../shared/src/signaling/destinations.js';
import { warmUpCrypto } from './e2e.js';
import { TypedEmitter } from './events.js';
import { ClientError, type AnyErrorCode, type RoomErrorInfo } from './errors.js';
import { CONNECT_TIMEOUT_MS } from './limits.js';
import { exponentialBackoff, type ReconnectPolicy } from './reconnect-policy.js';
import { createRoom, type Room } from './room.js';
import type { LinkReport, PeerId, RoomInbound, RoomPort, WelcomeMessage } from './room-port.js';
import { TokenRefresh, type TokenSource } from './token-refresh.js';
import { detectWrtc, type WrtcImpl } from './webrtc.js';

export type SessionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectOptions {
  /** @default 'websocket' */
  readonly transport?: 'websocket' | 'sockjs';
  /**
   * Sent as `Authorization: Bearer <token>` and as `passcode`. A callback is asked for a fresh token
   * at each (re)connect and before each token's `exp`, which is sent on SEND /app/token (token-refresh.ts).
   */
  readonly token?: TokenSource;
  /** A WebRTC implementation (Node: @roamhq/wrtc). Detected when absent. */
  readonly wrtc?: object;
  /** Never create RTCPeerConnections; every link uses the server relay. */
  readonly relayOnly?: boolean;
  /** STUN/TURN servers of the application's own, for every room; tried before the ones the
   * server's welcome gives (its STUN/TURN settings). @default [] */
  readonly iceServers?: readonly RTCIceServer[];
  /** @default exponentialBackoff() */
  readonly reconnect?: ReconnectPolicy;
  /** STOMP heart-beat in both directions, ms. @default 10000 */
  readonly heartbeatMs?: number;
  /** connect() rejects (CONNECT_FAILED) when no connection succeeds within this long; attempts
   * are made under the reconnect policy meanwhile. @default 10000 (CONNECT_TIMEOUT_MS) */
  readonly connectTimeoutMs?: number;
  readonly debug?: (msg: string) => void;
}

export interface JoinOptions {
  readonly name?: string;
  readonly relayOnly?: boolean;
  /** How long a member that lost its signaling stays, awaiting its rejoin. @default 15000 */
  readonly rejoinGraceMs?: number;
  /** Replaces connect()'s iceServers for this room; still before the welcome's. */
  readonly iceServers?: readonly RTCIceServer[];
  /** Largest message send() accepts, in bytes. @default 16 MiB (MAX_MESSAGE_BYTES) */
  readonly maxMessageBytes?: number;
  /** Room passphrase, mixed into the end-to-end key derivation (docs/protocol.md §12): members
   * with another one cannot talk to us (E2E_MISMATCH), clear peers are refused (E2E_REQUIRED). */
  readonly passphrase?: string;
  /** false: offer no end-to-end keys, so the relay reads our envelopes (as before; for benchmarks
   * and debugging). Refused by members whose room has a passphrase. @default true */
  readonly endToEnd?: boolean;
}

export type SessionEvents = {
  state: (state: SessionState, previous: SessionState) => void;
  /** A non-fatal error the server reported, or a fatal ERROR frame. */
  error: (err: RoomErrorInfo) => void;
};

/**
 * Fatal codes after which another attempt may well succeed: the node is going away or was
 * overloaded, a connection limit may free up (the old socket of a reconnect may still count), or
 * the token callback gives a fresh token. Every other fatal code (AUTH_FAILED, UNSUPPORTED_VERSION,
 * a protocol violation) would only be repeated, so it ends the session and stops all retries.
 */
const RETRYABLE_FATAL: ReadonlySet<AnyErrorCode> = new Set<AnyErrorCode>([
  'SERVER_SHUTTING_DOWN',
  'BROKER_UNAVAILABLE',
  'HEARTBEAT_TIMEOUT',
  'SLOW_CONSUMER',
  'CONNECT_TIMEOUT',
  'TOKEN_EXPIRED',
  'TOO_MANY_SESSIONS',
  'TOO_MANY_CONNECTIONS',
]);

/** Non-fatal codes the rooms handle themselves (pacing, a peer that just left or reconnected). */
const ROOM_INTERNAL: ReadonlySet<AnyErrorCode> = new Set<AnyErrorCode>(['UNKNOWN_PEER', 'RATE_LIMITED']);

export class Session extends TypedEmitter<SessionEvents> {
  #state: SessionState = 'connecting';
  #peerId: PeerId = '';
  #epoch: number | undefined;
  #epochs = 0;
  #attempt = 0;
  #started = false;
  #lostAt = 0;
  #receipts = 0;
  /** Why the last attempt failed, for the CONNECT_FAILED message. */
  #lastFailure = '';
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The reconnect policy's pending delay, cut short by close(). */
  #delay: { timer: ReturnType<typeof setTimeout>; done: () => void } | undefined;
  readonly #rooms = new Map<string, RoomBinding>();
  readonly #urls: readonly string[];
  readonly #options: ConnectOptions;
  readonly #wrtc: WrtcImpl | undefined;
  readonly #client: Client;
  readonly #tokens: TokenRefresh;
  readonly #opened: Promise<void>;
  #settleOpened!: (err?: Error) => void;

  /** Use connect(); the constructor does not start the connection. */
  constructor(
    urls: readonly string[],
    webSocketFactory: () => WebSocket,
    options: ConnectOptions,
    wrtc: WrtcImpl | undefined,
  ) {
    super();
    this.#urls = urls;
    this.#options = options;
    this.#wrtc = wrtc;
    this.#opened = new Promise((resolve, reject) => {
      this.#settleOpened = (err) => (err ? reject(err) : resolve());
    });
    const policy = options.reconnect ?? exponentialBackoff();
    this.#tokens = new TokenRefresh(options.token, (err) => this.emit('error', err));
    const heartbeat = options.heartbeatMs ?? 10_000;
    this.#client = new Client({
      webSocketFactory,
      heartbeatIncoming: heartbeat,
      heartbeatOutgoing: heartbeat,
      // stompjs only schedules the retry; beforeConnect waits for the policy's delay.
      reconnectDelay: 1,
      debug: options.debug ? (m) => options.debug!(`stomp: ${m}`) : () => undefined,
      beforeConnect: async () => {
        if (!this.#started) {
          this.#started = true;
          await this.#applyToken();
          this.#watchHandshake();
          return;
        }
        const delay = policy.nextDelayMs({ attempt: ++this.#attempt, elapsedMs: Date.now() - this.#lostAt });
        if (delay === null) {
          const cause = this.#lastFailure ? ` (${this.#lastFailure})` : '';
          this.#fail(new ClientError('CONNECT_FAILED', `the reconnect policy gave up${cause}`));
          return;
        }
        await new Promise<void>((done) => {
          this.#delay = { timer: setTimeout(done, delay), done };
        });
        this.#delay = undefined;
        if (this.#state === 'closed') return;
        await this.#applyToken();
        this.#watchHandshake();
      },
      onConnect: (frame) => this.#onConnect(frame),
      onStompError: (frame) => this.#onStompError(frame),
      onWebSocketError: (event) => {
        this.#lastFailure = describeSocketEvent(event);
      },
      onWebSocketClose: (event) => {
        if (!this.#lastFailure) this.#lastFailure = describeSocketEvent(event);
        this.#onConnectionLost();
      },
    });
  }

  get state(): SessionState {
    return this.#state;
  }
  /** Server-assigned id of the current signaling session (changes on reconnect). */
  get peerId(): PeerId {
    return this.#peerId;
  }
  /** Resolves on the first CONNECTED. */
  get opened(): Promise<void> {
    return this.#opened;
  }

  start(): void {
    this.#lostAt = Date.now();
    const timeoutMs = this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.#connectTimer = setTimeout(() => {
      const to = this.#urls.length === 1 ? this.#urls[0] : this.#urls.join(', ');
      this.#fail(
        new ClientError(
          'CONNECT_FAILED',
          `could not connect to ${to} within ${timeoutMs} ms${this.#lastFailure ? ` (${this.#lastFailure})` : ''}`,
        ),
      );
    }, timeoutMs);
    this.#client.activate();
  }

  async join(roomId: string, opts: JoinOptions = {}): Promise<Room> {
    if (this.#state === 'closed') throw new ClientError('SESSION_CLOSED', 'the session is closed');
    if (this.#rooms.has(roomId)) throw new ClientError('ALREADY_IN_ROOM', `already in room ${roomId}`);
    const relayOnly = this.#options.relayOnly === true || opts.relayOnly === true;
    const binding = new RoomBinding(this, roomId, opts.name ?? '');
    const { room, inbound } = createRoom(binding, {
      roomId,
      name: opts.name ?? '',
      wrtc: relayOnly ? undefined : this.#wrtc,
      relayOnly,
      ...(opts.rejoinGraceMs !== undefined ? { rejoinGraceMs: opts.rejoinGraceMs } : {}),
      ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
      ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
      ...(opts.endToEnd !== undefined ? { endToEnd: opts.endToEnd } : {}),
      iceServers: opts.iceServers ?? this.#options.iceServers ?? [],
      ...(this.#options.debug ? { debug: this.#options.debug } : {}),
    });
    binding.attach(room, inbound);
    this.#rooms.set(roomId, binding);
    if (this.#client.connected) binding.subscribe();
    try {
      await room.joined;
    } catch (err) {
      // The server refused the SUBSCRIBE (or the session closed): there is nothing to UNSUBSCRIBE,
      // and doing so would earn an UNKNOWN_SUBSCRIPTION error.
      if (this.#rooms.get(roomId) === binding) this.#rooms.delete(roomId);
      binding.forget();
      throw err;
    }
    return room;
  }

  /**
   * Drops the signaling socket without a DISCONNECT, as a network loss would; the reconnect
   * policy then applies. For tests and failure drills.
   */
  dropConnection(): void {
    this.#client.forceDisconnect();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await Promise.all([...this.#rooms.values()].map(async (b) => b.room?.leave()));
    await this.#shutdown();
  }

  /**
   * A socket that opens but never completes the STOMP handshake (a wrong path behind a proxy,
   * SockJS pointed at the raw WebSocket endpoint) is closed and retried like a refused one. Our
   * own timer rather than stompjs's connectionTimeout, whose watcher outlives a refused CONNECT and
   * holds a Node process open for its whole length.
   */
  #watchHandshake(): void {
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = setTimeout(() => {
      if (this.#state === 'closed' || this.#client.connected) return;
      this.#lastFailure ||= `no STOMP CONNECTED within ${this.#connectTimeoutMs} ms`;
      this.#client.forceDisconnect();
    }, this.#connectTimeoutMs);
  }

  get #connectTimeoutMs(): number {
    return this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  }

  /** Ends the session for good: connect() rejects with err if it is still waiting. */
  #fail(err: ClientError): void {
    if (this.#state === 'closed') return;
    this.#options.debug?.(`session failed: ${err.code} ${err.message}`);
    this.#settleOpened(err);
    void this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#handshakeTimer);
    if (this.#delay) {
      clearTimeout(this.#delay.timer);
      this.#delay.done();
    }
    this.#setState('closed');
    this.#tokens.stop();
    for (const b of this.#rooms.values()) b.room?.close(new ClientError('SESSION_CLOSED', 'the session is closed'));
    this.#rooms.clear();
    this.#settleOpened(new ClientError('SESSION_CLOSED', 'the session closed before it connected'));
    await this.#client.deactivate();
  }

  // --- internals used by RoomBinding ---------------------------------------------------------

  get epoch(): number | undefined {
    return this.#epoch;
  }

  publish(destination: string, headers: Record<string, string>, body: string | Uint8Array): boolean {
    if (!this.#client.connected || this.#epoch === undefined) return false;
    try {
      if (typeof body === 'string') this.#client.publish({ destination, headers, body });
      else this.#client.publish({ destination, headers, binaryBody: body });
      return true;
    } catch {
      return false;
    }
  }

  subscribe(destination: string, onMessage: (m: IMessage) => void, headers: Record<string, string>): StompSubscription {
    return this.#client.subscribe(destination, onMessage, headers);
  }

  nextReceipt(roomId: string): string {
    return `join-${roomId}-${++this.#receipts}`;
  }

  forget(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  // --- connection lifecycle ------------------------------------------------------------------

  #setState(next: SessionState): void {
    const previous = this.#state;
    if (previous === next || previous === 'closed') return;
    this.#state = next;
    this.#options.debug?.(`session ${previous} -> ${next}`);
    this.emit('state', next, previous);
  }

  async #applyToken(): Promise<void> {
    this.#client.connectHeaders = await this.#tokens.connectHeaders();
  }

  #onConnect(frame: IFrame): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#handshakeTimer);
    this.#lastFailure = '';
    this.#attempt = 0;
    this.#tokens.connected(this.#client);
    this.#peerId = frame.headers['user-name'] ?? '';
    this.#epoch = ++this.#epochs;
    this.#client.subscribe(DESTINATIONS.userSignal, (m) =>
      this.#route(m, (b, from) => {
        let signal: unknown;
        try {
          signal = JSON.parse(m.body);
        } catch {
          return;
        }
        if (signal && typeof signal === 'object') b.inbound?.signal(from, signal as Record<string, unknown>);
      }),
    );
    this.#client.subscribe(DESTINATIONS.userRelay, (m) =>
      this.#route(m, (b, from) => {
        const binary = (m.headers['content-type'] ?? '').startsWith('application/octet-stream');
        b.inbound?.relay(from, binary ? m.binaryBody : m.body);
      }),
    );
    this.#client.subscribe(DESTINATIONS.userErrors, (m) => this.#onErrorMessage(m));
    this.#setState('connected');
    for (const binding of this.#rooms.values()) binding.subscribe();
    this.#settleOpened();
  }

  #route(m: IMessage, handle: (b: RoomBinding, from: PeerId) => void): void {
    const binding = this.#rooms.get(m.headers.room ?? '');
    const from = m.headers.from;
    if (binding && from) handle(binding, from);
  }

  /**
   * A refusal that names our join's receipt goes to that room (its join fails, or its rejoin after
   * a reconnect); one without a receipt concerns a relay or signal SEND. UNKNOWN_PEER and
   * RATE_LIMITED are the rooms' own business (a peer that just left; pacing); anything else is
   * the application's, on the session.
   */
  #onErrorMessage(m: IMessage): void {
    let err: RoomErrorInfo;
    try {
      const body = JSON.parse(m.body) as { code?: string; message?: string };
      err = { code: catalogueCode(body.code), message: typeof body.message === 'string' ? body.message : '' };
    } catch {
      return;
    }
    const receipt = m.headers['receipt-id'];
    const target = receipt ? [...this.#rooms.values()].find((b) => b.receipt === receipt) : undefined;
    if (target) {
      // A refused join or rejoin ends that room: the server holds no subscription for it.
      target.inbound?.refused(err);
      if (this.#rooms.get(target.roomId) === target) this.#rooms.delete(target.roomId);
      target.forget();
      return;
    }
    if (ROOM_INTERNAL.has(err.code)) {
      for (const b of this.#rooms.values()) b.inbound?.error(err);
      return;
    }
    this.emit('error', err);
  }

  /**
   * stompjs unescapes header values only after CONNECTED (and with a chain of replace() calls), so
   * an ERROR in answer to CONNECT arrives as the server escaped it: `token rejected\c …`. Those we
   * unescape ourselves, in one strict pass; a value that is no valid escape is shown as it came.
   */
  #onStompError(frame: IFrame): void {
    const header = (name: string): string | undefined => {
      const raw = frame.headers[name];
      if (raw === undefined || this.#state !== 'connecting') return raw;
      try {
        return unescapeHeader(raw, '1.2');
      } catch {
        return raw;
      }
    };
    const code = catalogueCode(header('code'));
    const message = header('message') ?? frame.body;
    this.#lastFailure = `${code}: ${message}`;
    this.emit('error', { code, message });
    if (!RETRYABLE_FATAL.has(code)) this.#fail(new ClientError(code, message));
  }

  #onConnectionLost(): void {
    if (this.#state === 'closed') return;
    this.#tokens.stop();
    if (this.#epoch !== undefined) this.#lostAt = Date.now();
    this.#epoch = undefined;
    if (this.#state === 'connected') this.#setState('reconnecting');
    for (const b of this.#rooms.values()) b.inbound?.signalingLost();
  }
}

/** A code from the catalogue; SERVER_ERROR for an error that carries none (another broker). */
function catalogueCode(code: unknown): AnyErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code) ? (code as ErrorCode) : 'SERVER_ERROR';
}

/** The socket's own words for a failed attempt (ws: "connect ECONNREFUSED …"; HTTP 404 on a wrong path). */
function describeSocketEvent(event: unknown): string {
  const e = event as { message?: unknown; error?: { message?: unknown }; code?: unknown; reason?: unknown };
  if (typeof e?.message === 'string' && e.message) return e.message;
  if (typeof e?.error?.message === 'string') return e.error.message;
  if (typeof e?.code === 'number') {
    return `socket closed with code ${e.code}${typeof e.reason === 'string' && e.reason ? ` (${e.reason})` : ''}`;
  }
  return 'socket error';
}

/** RoomPort over STOMP for one room of one session. */
class RoomBinding implements RoomPort {
  room: Room | undefined;
  inbound: RoomInbound | undefined;
  receipt: string | undefined;
  #sub: StompSubscription | undefined;

  readonly #session: Session;
  readonly #name: string;

  constructor(
    session: Session,
    readonly roomId: string,
    name: string,
  ) {
    this.#session = session;
    this.#name = name;
  }

  attach(room: Room, inbound: RoomInbound): void {
    this.room = room;
    this.inbound = inbound;
  }

  get epoch(): number | undefined {
    return this.#session.epoch;
  }

  /** Join (or rejoin after a reconnect): SUBSCRIBE to the room topic. */
  subscribe(): void {
    this.receipt = this.#session.nextReceipt(this.roomId);
    this.#sub = this.#session.subscribe(roomDestination(this.roomId), (m) => this.#onRoomMessage(m), {
      'display-name': this.#name,
      receipt: this.receipt,
    });
  }

  unsubscribe(): void {
    try {
      this.#sub?.unsubscribe();
    } catch {
      /* connection already gone */
    }
    this.#sub = undefined;
  }

  /** The server never made the subscription: drop it here only. (stompjs keeps its callback
   * until the connection ends; the room ignores what it would be given.) */
  forget(): void {
    this.#sub = undefined;
  }

  sendSignal(to: PeerId, signal: Record<string, unknown>): boolean {
    return this.#session.publish(DESTINATIONS.signal, { room: this.roomId, to }, JSON.stringify(signal));
  }

  sendRelay(to: PeerId, body: string | Uint8Array): boolean {
    const contentType = typeof body === 'string' ? 'text/plain;charset=utf-8' : 'application/octet-stream';
    return this.#session.publish(DESTINATIONS.relay, { room: this.roomId, to, 'content-type': contentType }, body);
  }

  sendReport(report: LinkReport): void {
    this.#session.publish(DESTINATIONS.report, { room: this.roomId }, JSON.stringify(report));
  }

  async leave(): Promise<void> {
    this.unsubscribe();
    this.#session.forget(this.roomId);
  }

  #onRoomMessage(m: IMessage): void {
    let msg: { type?: string; peer?: { id?: string; name?: string } };
    try {
      msg = JSON.parse(m.body) as typeof msg;
    } catch {
      return;
    }
    switch (msg.type) {
      case 'welcome':
        this.inbound?.welcome(msg as unknown as WelcomeMessage);
        break;
      case 'peer-joined':
        if (msg.peer?.id) this.inbound?.peerJoined({ id: msg.peer.id, name: msg.peer.name ?? '' });
        break;
      case 'peer-left':
        if (msg.peer?.id) this.inbound?.peerLeft(msg.peer.id);
        break;
    }
  }
}

/**
 * Opens a session; resolves once the server has answered CONNECTED, rejects (CONNECT_FAILED, or
 * the server's code, e.g. AUTH_FAILED) when that cannot happen. Given several URLs (nodes of one
 * cluster), each new attempt, first or after a drop, goes to the next one in turn.
 */
export async function connect(url: string | readonly string[], options: ConnectOptions = {}): Promise<Session> {
  const urls = typeof url === 'string' ? [url] : [...url];
  if (urls.length === 0) throw new ClientError('CONNECT_FAILED', 'connect() needs at least one URL');
  void warmUpCrypto();
  const factories = await Promise.all(urls.map((u) => webSocketFactory(u, options.transport ?? 'websocket')));
  let next = 0;
  const factory = () => factories[next++ % factories.length]!();
  const wrtc = options.relayOnly ? undefined : await detectWrtc(options.wrtc);
  const session = new Session(urls, factory, options, wrtc);
  session.start();
  await session.opened;
  return session;
}

const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

/**
 * sockjs-client works in browsers and Node alike: a literal specifier lets bundlers resolve it and
 * emit it as a lazy chunk, loaded only when a session asks for SockJS. `ws` is Node-only (every
 * browser has globalThis.WebSocket, and Node ≥ 22 too): its specifier is hidden from bundlers so
 * that it never enters a browser bundle.
 */
async function webSocketFactory(url: string, transport: 'websocket' | 'sockjs'): Promise<() => WebSocket> {
  if (transport === 'sockjs') {
    const mod = (await import('sockjs-client')) as unknown as { default: new (url: string) => WebSocket };
    const SockJS = mod.default;
    const httpUrl = url.replace(/^ws(s?):/, 'http$1:');
    return () => new SockJS(httpUrl);
  }
  const g = globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocket };
  let Ctor = g.WebSocket;
  if (!Ctor) {
    const nodeOnly = 'ws';
    Ctor = ((await import(/* @vite-ignore */ nodeOnly)) as { default: typeof Ctor }).default;
  }
  const WS = Ctor!;
  return () => new WS(url, STOMP_SUBPROTOCOLS);
}
