/**
 * The signaling session: one @stomp/stompjs Client, a state machine with a single setter, reconnect
 * timing from an injected policy, and one RoomPort binding per joined room. After a reconnect the
 * server assigns a new peer id; stompjs runs onConnect again and we rejoin every room there, while
 * established data channels carry on untouched.
 */
import { Client, type IFrame, type IMessage, type StompSubscription } from '@stomp/stompjs';
import type { ErrorCode } from '../../shared/src/errors.js';
import { DESTINATIONS, roomDestination } from '../../shared/src/signaling/destinations.js';
import { TypedEmitter } from './events.js';
import { ClientError, type RoomErrorInfo } from './errors.js';
import { exponentialBackoff, type ReconnectPolicy } from './reconnect-policy.js';
import { createRoom, type Room } from './room.js';
import type { LinkReport, PeerId, RoomInbound, RoomPort, WelcomeMessage } from './room-port.js';
import { detectWrtc, type WrtcImpl } from './webrtc.js';

export type SessionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectOptions {
  /** @default 'websocket' */
  readonly transport?: 'websocket' | 'sockjs';
  /** Sent as `Authorization: Bearer <token>` and as `passcode`. */
  readonly token?: string;
  /** A WebRTC implementation (Node: @roamhq/wrtc). Detected when absent. */
  readonly wrtc?: object;
  /** Never create RTCPeerConnections; every link uses the server relay. */
  readonly relayOnly?: boolean;
  /** @default exponentialBackoff() */
  readonly reconnect?: ReconnectPolicy;
  /** STOMP heart-beat in both directions, ms. @default 10000 */
  readonly heartbeatMs?: number;
  readonly debug?: (msg: string) => void;
}

export interface JoinOptions {
  readonly name?: string;
  readonly relayOnly?: boolean;
  /** How long a member that lost its signaling stays, awaiting its rejoin. @default 15000 */
  readonly rejoinGraceMs?: number;
}

export type SessionEvents = {
  state: (state: SessionState, previous: SessionState) => void;
  /** A non-fatal error the server reported, or a fatal ERROR frame. */
  error: (err: RoomErrorInfo) => void;
};

export class Session extends TypedEmitter<SessionEvents> {
  #state: SessionState = 'connecting';
  #peerId: PeerId = '';
  #epoch: number | undefined;
  #epochs = 0;
  #attempt = 0;
  #started = false;
  #lostAt = 0;
  #receipts = 0;
  readonly #rooms = new Map<string, RoomBinding>();
  readonly #client: Client;
  readonly #opened: Promise<void>;
  #settleOpened!: (err?: Error) => void;

  /** Use connect(); the constructor does not start the connection. */
  constructor(
    webSocketFactory: () => WebSocket,
    private readonly options: ConnectOptions,
    private readonly wrtc: WrtcImpl | undefined,
  ) {
    super();
    this.#opened = new Promise((resolve, reject) => {
      this.#settleOpened = (err) => (err ? reject(err) : resolve());
    });
    const policy = options.reconnect ?? exponentialBackoff();
    const headers: Record<string, string> = {};
    if (options.token) { headers.Authorization = `Bearer ${options.token}`; headers.passcode = options.token; }
    const heartbeat = options.heartbeatMs ?? 10_000;
    this.#client = new Client({
      webSocketFactory,
      connectHeaders: headers,
      heartbeatIncoming: heartbeat,
      heartbeatOutgoing: heartbeat,
      // stompjs only schedules the retry; beforeConnect waits for the policy's delay.
      reconnectDelay: 1,
      debug: options.debug ? (m) => options.debug!(`stomp: ${m}`) : () => undefined,
      beforeConnect: async () => {
        if (!this.#started) { this.#started = true; return; }
        const delay = policy.nextDelayMs({ attempt: ++this.#attempt, elapsedMs: Date.now() - this.#lostAt });
        if (delay === null) {
          const err = new ClientError('CONNECT_FAILED', 'the reconnect policy gave up');
          this.#settleOpened(err);
          void this.#shutdown();
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
      },
      onConnect: (frame) => this.#onConnect(frame),
      onStompError: (frame) => this.#onStompError(frame),
      onWebSocketClose: () => this.#onConnectionLost(),
    });
  }

  get state(): SessionState { return this.#state; }
  /** Server-assigned id of the current signaling session (changes on reconnect). */
  get peerId(): PeerId { return this.#peerId; }
  /** Resolves on the first CONNECTED. */
  get opened(): Promise<void> { return this.#opened; }

  start(): void {
    this.#lostAt = Date.now();
    this.#client.activate();
  }

  async join(roomId: string, opts: JoinOptions = {}): Promise<Room> {
    if (this.#state === 'closed') throw new ClientError('SESSION_CLOSED', 'the session is closed');
    if (this.#rooms.has(roomId)) throw new ClientError('ALREADY_IN_ROOM', `already in room ${roomId}`);
    const relayOnly = this.options.relayOnly === true || opts.relayOnly === true;
    const binding = new RoomBinding(this, roomId, opts.name ?? '');
    const { room, inbound } = createRoom(binding, {
      roomId,
      name: opts.name ?? '',
      wrtc: relayOnly ? undefined : this.wrtc,
      relayOnly,
      ...(opts.rejoinGraceMs !== undefined ? { rejoinGraceMs: opts.rejoinGraceMs } : {}),
      ...(this.options.debug ? { debug: this.options.debug } : {}),
    });
    binding.attach(room, inbound);
    this.#rooms.set(roomId, binding);
    if (this.#client.connected) binding.subscribe();
    try {
      await room.joined;
    } catch (err) {
      this.#rooms.delete(roomId);
      binding.unsubscribe();
      throw err;
    }
    return room;
  }

  /**
   * Drops the signaling socket without a DISCONNECT, as a network loss would; the reconnect
   * policy then applies. For tests and failure drills.
   */
  dropConnection(): void { this.#client.forceDisconnect(); }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await Promise.all([...this.#rooms.values()].map((b) => b.room?.leave()));
    await this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#setState('closed');
    for (const b of this.#rooms.values()) b.room?.close(new ClientError('SESSION_CLOSED', 'the session is closed'));
    this.#rooms.clear();
    this.#settleOpened(new ClientError('SESSION_CLOSED', 'the session closed before it connected'));
    await this.#client.deactivate();
  }

  // --- internals used by RoomBinding ---------------------------------------------------------

  get epoch(): number | undefined { return this.#epoch; }

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

  nextReceipt(roomId: string): string { return `join-${roomId}-${++this.#receipts}`; }

  forget(roomId: string): void { this.#rooms.delete(roomId); }

  // --- connection lifecycle ------------------------------------------------------------------

  #setState(next: SessionState): void {
    const previous = this.#state;
    if (previous === next || previous === 'closed') return;
    this.#state = next;
    this.options.debug?.(`session ${previous} -> ${next}`);
    this.emit('state', next, previous);
  }

  #onConnect(frame: IFrame): void {
    this.#attempt = 0;
    this.#peerId = frame.headers['user-name'] ?? '';
    this.#epoch = ++this.#epochs;
    this.#client.subscribe(DESTINATIONS.userSignal, (m) => this.#route(m, (b, from) => {
      let signal: unknown;
      try { signal = JSON.parse(m.body); } catch { return; }
      if (signal && typeof signal === 'object') b.inbound?.signal(from, signal as Record<string, unknown>);
    }));
    this.#client.subscribe(DESTINATIONS.userRelay, (m) => this.#route(m, (b, from) => {
      const binary = (m.headers['content-type'] ?? '').startsWith('application/octet-stream');
      b.inbound?.relay(from, binary ? m.binaryBody : m.body);
    }));
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

  #onErrorMessage(m: IMessage): void {
    let err: RoomErrorInfo;
    try {
      const body = JSON.parse(m.body) as { code?: string; message?: string };
      err = { code: (body.code ?? 'UNKNOWN') as ErrorCode, message: body.message ?? '' };
    } catch {
      return;
    }
    this.emit('error', err);
    const receipt = m.headers['receipt-id'];
    const target = receipt ? [...this.#rooms.values()].find((b) => b.receipt === receipt) : undefined;
    for (const b of target ? [target] : this.#rooms.values()) b.inbound?.error(err);
  }

  #onStompError(frame: IFrame): void {
    const code = (frame.headers.code ?? 'UNKNOWN') as ErrorCode;
    const err = { code, message: frame.headers.message ?? frame.body };
    this.emit('error', err);
    if (this.#state === 'connecting') this.#settleOpened(new ClientError(code, err.message));
  }

  #onConnectionLost(): void {
    if (this.#state === 'closed') return;
    if (this.#epoch !== undefined) this.#lostAt = Date.now();
    this.#epoch = undefined;
    if (this.#state === 'connected') this.#setState('reconnecting');
    for (const b of this.#rooms.values()) b.inbound?.signalingLost();
  }
}

/** RoomPort over STOMP for one room of one session. */
class RoomBinding implements RoomPort {
  room: Room | undefined;
  inbound: RoomInbound | undefined;
  receipt: string | undefined;
  #sub: StompSubscription | undefined;

  constructor(private readonly session: Session, private readonly roomId: string, private readonly name: string) {}

  attach(room: Room, inbound: RoomInbound): void { this.room = room; this.inbound = inbound; }

  get epoch(): number | undefined { return this.session.epoch; }

  /** Join (or rejoin after a reconnect): SUBSCRIBE to the room topic. */
  subscribe(): void {
    this.receipt = this.session.nextReceipt(this.roomId);
    this.#sub = this.session.subscribe(roomDestination(this.roomId), (m) => this.#onRoomMessage(m), {
      'display-name': this.name,
      receipt: this.receipt,
    });
  }

  unsubscribe(): void {
    try { this.#sub?.unsubscribe(); } catch { /* connection already gone */ }
    this.#sub = undefined;
  }

  sendSignal(to: PeerId, signal: Record<string, unknown>): boolean {
    return this.session.publish(DESTINATIONS.signal, { room: this.roomId, to }, JSON.stringify(signal));
  }

  sendRelay(to: PeerId, body: string | Uint8Array): boolean {
    const contentType = typeof body === 'string' ? 'text/plain;charset=utf-8' : 'application/octet-stream';
    return this.session.publish(DESTINATIONS.relay, { room: this.roomId, to, 'content-type': contentType }, body);
  }

  sendReport(report: LinkReport): void {
    this.session.publish(DESTINATIONS.report, { room: this.roomId }, JSON.stringify(report));
  }

  async leave(): Promise<void> {
    this.unsubscribe();
    this.session.forget(this.roomId);
  }

  #onRoomMessage(m: IMessage): void {
    let msg: { type?: string; peer?: { id?: string; name?: string } };
    try { msg = JSON.parse(m.body); } catch { return; }
    switch (msg.type) {
      case 'welcome': this.inbound?.welcome(msg as unknown as WelcomeMessage); break;
      case 'peer-joined':
        if (msg.peer?.id) this.inbound?.peerJoined({ id: msg.peer.id, name: msg.peer.name ?? '' });
        break;
      case 'peer-left': if (msg.peer?.id) this.inbound?.peerLeft(msg.peer.id); break;
    }
  }
}

/** Opens a session; resolves once the server has answered CONNECTED. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Session> {
  const factory = await webSocketFactory(url, options.transport ?? 'websocket');
  const wrtc = options.relayOnly ? undefined : await detectWrtc(options.wrtc);
  const session = new Session(factory, options, wrtc);
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
