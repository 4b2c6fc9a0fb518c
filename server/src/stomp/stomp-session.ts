import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { FastifyBaseLogger } from 'fastify';
import { ERROR_CATALOGUE, StompRtcError, type ErrorCode } from '../../../shared/src/errors.js';
import { STOMP_COMMANDS } from '../../../shared/src/stomp/commands.js';
import {
  createHeaders,
  frame,
  textEncoder,
  type StompFrame,
  type StompVersion,
} from '../../../shared/src/stomp/frame.js';
import { FrameDecoder } from '../../../shared/src/stomp/frame-decoder.js';
import { encodeFrame, HEARTBEAT_EOL, type SelfEncodingFrame } from '../../../shared/src/stomp/frame-encoder.js';
import { validateClientFrame } from '../../../shared/src/stomp/validate.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import { pooledBytes, retained } from '../body-memory.js';
import { decoderLimits, HEARTBEAT_MAX_MS, type Config } from '../config.js';
import type { SessionRouter } from '../messaging/access-gate.js';
import type { SessionContext, SessionSubscription } from '../messaging/session-context.js';
import type { Connection, ConnectionHandler } from '../transport/connection.js';
import type { Authenticator } from './authenticator.js';
import { Heartbeat, negotiateHeartbeat, parseHeartbeatHeader, type HeartbeatOwner } from './heartbeat.js';
import { normalizeLegacyFrame } from './legacy-frames.js';
import { RateLimiter } from './rate-limiter.js';
import { SessionCredentials, type CredentialsOwner } from './session-credentials.js';
import { Transactions } from './transactions.js';
import { negotiateVersion } from './version.js';

/**
 * Whether a frame's body is UTF-8 (it may then go as a text message). A MESSAGE knows, checked once
 * for all its deliveries (message-frame.ts). Checking (simdutf, 30–40 ns for 100–1,200 bytes) costs
 * less than carrying from each received frame whether it came as text.
 */
function isText(frame: StompFrame): boolean {
  return (frame as SelfEncodingFrame).textBody ?? isUtf8(frame.body);
}

export type SessionState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closing' | 'closed';

/** What a session needs from the server around it. */
export interface SessionHost {
  readonly config: Config;
  readonly router: SessionRouter;
  readonly log: FastifyBaseLogger;
  readonly serverName: string;
  /** Starts every session id (the relay's node id: see node-mailbox.ts). */
  readonly sessionIdPrefix: string;
  readonly authenticate: Authenticator | undefined;
  /** Throws a StompRtcError when the server takes no sessions now (CONNECT is answered with it). */
  requireServing?(): void;
  opened(session: StompSession): void;
  /** The session authenticated; throws (TOO_MANY_SESSIONS) to refuse it. */
  admit(session: StompSession): void;
  closed(session: StompSession): void;
  /** The session's connection has closed: its socket, which may outlive the session while it closes. */
  connectionClosed(connection: Connection): void;
  /** Counts each refusal by code, for /metrics. */
  refused(code: ErrorCode): void;
}

/**
 * One STOMP session on one transport connection: decodes frames, negotiates CONNECT, keeps
 * heart-beats, enforces per-session limits and turns refusals into ERROR frames (fatal) or
 * messages on /user/queue/errors (non-fatal). Everything else goes to the router.
 */
export class StompSession implements SessionContext, ConnectionHandler, HeartbeatOwner, CredentialsOwner {
  /**
   * The session whose input is being decoded. Decoders emit frames only inside push(), so one
   * frame callback serves every session's decoder instead of a closure each (see #decoded).
   */
  static #decoding: StompSession | undefined;

  readonly sessionId: string;
  state: SessionState = 'awaiting-connect';
  version: StompVersion = '1.2';
  principal: string | undefined;

  // What an idle session does not use is made on first use: a server holds many idle sessions.
  #subscriptions: Map<string, SessionSubscription> | undefined;
  #transactions: Transactions | undefined;
  #credentials: SessionCredentials | undefined;
  #rateLimiter: RateLimiter | undefined;

  readonly #decoder: FrameDecoder;
  #heartbeat: Heartbeat | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  /** Frames decoded with CONNECT's chunk, after it, while it is authenticated (the transport is paused). */
  #backlog: StompFrame[] | undefined;
  /** Frames read beyond the rate, waiting for tokens while the transport is paused. */
  #throttled: StompFrame[] | undefined;
  #throttledBytes = 0;
  #throttleTimer: NodeJS.Timeout | undefined;
  /** Settles once every broker operation started so far has; RECEIPTs go out in frame order behind it. */
  #brokerWork: Promise<void> | undefined;

  readonly #connection: Connection;
  readonly #host: SessionHost;

  constructor(connection: Connection, host: SessionHost) {
    this.#connection = connection;
    this.#host = host;
    this.sessionId = host.sessionIdPrefix + randomBytes(12).toString('base64url');
    const { config } = host;
    // No heart-beat callback: onData counts every byte received as life already.
    this.#decoder = new FrameDecoder(
      { limits: decoderLimits(config, false), version: '1.2', allocate: pooledBytes, viewBodies: true },
      StompSession.#decoded,
    );
    connection.attach(this);
    this.#connectTimer = setTimeout(
      () => this.#fail(new StompRtcError('CONNECT_TIMEOUT', `no CONNECT within ${config.connectTimeoutMs} ms`)),
      config.connectTimeoutMs,
    );
    this.#connectTimer.unref();
    host.opened(this);
  }

  get subscriptions(): Map<string, SessionSubscription> {
    return (this.#subscriptions ??= new Map());
  }

  get transactions(): Transactions {
    const { maxTransactionsPerSession, maxFramesPerTransaction } = this.#host.config;
    return (this.#transactions ??= new Transactions(maxTransactionsPerSession, maxFramesPerTransaction));
  }

  /** The token behind the session and its expiry (TOKEN_EXPIRED); empty when auth is off. */
  get credentials(): SessionCredentials {
    return (this.#credentials ??= new SessionCredentials(this));
  }

  get #limiter(): RateLimiter {
    const { sendRatePerSecond, sendBurst } = this.#host.config;
    // A bucket made now starts full, as one made with the session would be by now.
    return (this.#rateLimiter ??= new RateLimiter(sendRatePerSecond, sendBurst));
  }

  get transport(): Connection['transport'] {
    return this.#connection.transport;
  }

  /** The broker's clientOutbound path. */
  deliver(message: StompFrame): void {
    this.send(message);
  }

  send(outbound: StompFrame): void {
    if (this.state === 'closed') return;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(outbound, this.version, pooledBytes);
    } catch (err) {
      // A 1.1/1.2 sender's header with a line feed has no STOMP 1.0 form. The in-memory broker keeps
      // such queue messages for a consumer that can carry them; a topic message is missed, and said so.
      const what = `a ${outbound.command} this session's STOMP ${this.version} cannot carry`;
      this.#host.log.debug({ session: this.sessionId, err }, what);
      if (outbound.command === 'MESSAGE') {
        const destination = outbound.headers.destination ?? '';
        this.#host.refused('UNREPRESENTABLE_HEADER');
        this.reportError(
          'UNREPRESENTABLE_HEADER',
          `a message on ${destination} was not delivered: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return;
    }
    this.#write(bytes, !this.#connection.binary || isText(outbound));
  }

  disconnect(receiptId: string | undefined): void {
    if (receiptId !== undefined) this.send(frame('RECEIPT', { 'receipt-id': receiptId }));
    this.#close();
  }

  /** Server shutdown: tell the client why, then close. */
  shutdown(): void {
    this.#fail(new StompRtcError('SERVER_SHUTTING_DOWN', 'the server is shutting down'));
  }

  /** The broker cannot keep this session's subscriptions (BROKER_UNAVAILABLE): ERROR, then close. */
  abort(error: StompRtcError): void {
    // Deferred: the broker calls this while walking its own subscription tables.
    queueMicrotask(() => this.#fail(error));
  }

  /** Sends a non-fatal error to the session's /user/queue/errors subscription. */
  reportError(code: ErrorCode, message: string, receiptId?: string): void {
    const headers = createHeaders([['content-type', 'application/json']]);
    if (receiptId !== undefined) headers['receipt-id'] = receiptId;
    try {
      this.#host.router.sendToUser(
        this.sessionId,
        DESTINATIONS.userErrors,
        headers,
        textEncoder.encode(JSON.stringify({ code, message })),
      );
    } catch {
      // No local /user/queue/errors subscription and RabbitMQ out of reach: the report is lost, not the session.
    }
  }

  #write(bytes: Uint8Array, text: boolean): void {
    this.#connection.send(bytes, text);
    this.#heartbeat?.noteOutbound();
    if (this.#connection.bufferedBytes > this.#host.config.outboundBufferBytes && this.state === 'connected') {
      // Deferred: this may run inside a broker fan-out loop that must not see the session vanish.
      queueMicrotask(() =>
        this.#fail(
          new StompRtcError(
            'SLOW_CONSUMER',
            `more than ${this.#host.config.outboundBufferBytes} bytes waited to be sent (OUTBOUND_BUFFER_BYTES)`,
          ),
        ),
      );
    }
  }

  /** Bytes from the peer (ConnectionHandler). */
  onData(chunk: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.#heartbeat?.noteInbound();
    const outer = StompSession.#decoding;
    StompSession.#decoding = this;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(err);
    } finally {
      StompSession.#decoding = outer;
    }
  }

  /** The transport refused the peer's input (ConnectionHandler). */
  onFatal(error: StompRtcError): void {
    this.#fail(error);
  }

  /** The transport closed (ConnectionHandler). */
  onClose(): void {
    this.#cleanUp();
    this.#host.connectionClosed(this.#connection);
  }

  /** A frame decoded by the decoder of StompSession.#decoding. */
  static #decoded(this: void, decoded: StompFrame): void {
    const session = StompSession.#decoding!;
    session.#onFrame(decoded);
  }

  /** The token's exp passed without a refresh (CredentialsOwner). */
  tokenExpired(error: StompRtcError): void {
    this.#fail(error);
  }

  /** Nothing went out for most of the heart-beat period (HeartbeatOwner). */
  sendHeartbeat(): void {
    this.#write(HEARTBEAT_EOL, true);
  }

  /** The client was silent past its heart-beat interval and the grace (HeartbeatOwner). */
  heartbeatTimedOut(silentMs: number): void {
    this.#fail(new StompRtcError('HEARTBEAT_TIMEOUT', `no frame or heart-beat from the client for ${silentMs} ms`));
  }

  #onFrame(received: StompFrame): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const receipt = received.headers.receipt;
    try {
      if (this.state === 'awaiting-connect') return this.#connect(received);
      if (this.state === 'authenticating') {
        (this.#backlog ??= []).push(retained(received));
        return;
      }
      this.#admit(received);
    } catch (err) {
      this.#refuse(err, receipt);
    }
  }

  /**
   * The rate limit throttles instead of dropping (RabbitMQ's credit flow, Kafka's quota delay): a
   * frame past the rate waits its turn in order, and the transport stops being read so the client's
   * further sends back up in its own socket. DISCONNECT needs no token, but keeps its place.
   */
  #admit(received: StompFrame): void {
    if (!this.#throttled?.length && (received.command === 'DISCONNECT' || this.#limiter.tryTake())) {
      this.#handle(received);
      return;
    }
    const throttled = (this.#throttled ??= []);
    throttled.push(retained(received));
    this.#throttledBytes += frameSize(received);
    const { sendRatePerSecond, throttleMaxBacklogMs, throttleMaxBacklogBytes } = this.#host.config;
    const backlogMs = (throttled.length * 1000) / sendRatePerSecond;
    if (backlogMs > throttleMaxBacklogMs || this.#throttledBytes > throttleMaxBacklogBytes) {
      throw new StompRtcError(
        'THROTTLE_BACKLOG_EXCEEDED',
        `${throttled.length} frames (${this.#throttledBytes} bytes) wait past SEND_RATE_PER_S ` +
          `(${sendRatePerSecond}/s): over THROTTLE_MAX_BACKLOG_MS (${throttleMaxBacklogMs}) ` +
          `or THROTTLE_MAX_BACKLOG_BYTES (${throttleMaxBacklogBytes})`,
      );
    }
    if (this.#throttleTimer === undefined) {
      this.#connection.pause();
      this.#scheduleThrottled();
    }
  }

  #scheduleThrottled(): void {
    this.#throttleTimer = setTimeout(() => this.#workOffThrottled(), Math.max(1, this.#limiter.msUntilToken()));
  }

  #workOffThrottled(): void {
    this.#throttleTimer = undefined;
    if (this.state !== 'connected') return;
    // Its frames are here, waiting on us: a throttled client is not silent.
    this.#heartbeat?.noteInbound();
    const throttled = this.#throttled ?? [];
    while (throttled.length > 0 && this.state === 'connected') {
      const next = throttled[0]!;
      if (next.command !== 'DISCONNECT' && !this.#limiter.tryTake()) break;
      throttled.shift();
      this.#throttledBytes -= frameSize(next);
      try {
        this.#handle(next);
      } catch (err) {
        this.#refuse(err, next.headers.receipt);
      }
    }
    if (this.state !== 'connected') return;
    if (throttled.length > 0) this.#scheduleThrottled();
    else {
      this.#throttled = undefined;
      this.#connection.resume();
    }
  }

  #handle(received: StompFrame): void {
    if (received.command === 'CONNECT' || received.command === 'STOMP') {
      throw new StompRtcError(
        'ALREADY_CONNECTED',
        'this session is already connected; a second CONNECT is not allowed',
      );
    }
    const normalized = normalizeLegacyFrame(received, this.version);
    validateClientFrame(normalized);
    const done = this.#host.router.dispatch(this, normalized);
    const receipt = normalized.headers.receipt;
    const wantsReceipt = receipt !== undefined && normalized.command !== 'DISCONNECT';
    if (done === undefined && this.#brokerWork === undefined) {
      if (wantsReceipt) this.send(frame('RECEIPT', { 'receipt-id': receipt }));
      return;
    }
    // A RECEIPT says the frame took effect ("the server has received and processed", §RECEIPT): for a
    // relayed SUBSCRIBE that is when RabbitMQ has it. Later RECEIPTs wait too, so they stay in order.
    const work: Promise<void> = Promise.all([this.#brokerWork, done])
      .then(
        () => {
          if (wantsReceipt) this.send(frame('RECEIPT', { 'receipt-id': receipt }));
        },
        (err) => this.#refuse(err, receipt),
      )
      .finally(() => {
        if (this.#brokerWork === work) this.#brokerWork = undefined;
      });
    this.#brokerWork = work;
  }

  /** https://stomp.github.io/stomp-specification-1.2.html#CONNECT_or_STOMP_Frame */
  #connect(connectFrame: StompFrame): void {
    if (connectFrame.command !== 'CONNECT' && connectFrame.command !== 'STOMP') {
      throw new StompRtcError(
        'NOT_CONNECTED',
        `${connectFrame.command} before CONNECT: the first frame must be CONNECT or STOMP`,
      );
    }
    if (connectFrame.body.length > 0)
      throw new StompRtcError(
        'BODY_NOT_ALLOWED',
        `${connectFrame.command} may not have a body (see ${STOMP_COMMANDS.CONNECT.spec})`,
      );
    this.version = negotiateVersion(connectFrame.headers['accept-version']);
    const clientHeartbeat = parseHeartbeatHeader(connectFrame.headers['heart-beat'], HEARTBEAT_MAX_MS);
    if (!clientHeartbeat) {
      throw new StompRtcError(
        'MALFORMED_FRAME',
        `heart-beat "${connectFrame.headers['heart-beat']}" is not "<ms>,<ms>" ` +
          `with each interval from 0 to ${HEARTBEAT_MAX_MS} ms`,
      );
    }
    clearTimeout(this.#connectTimer);
    // A cleared Timeout still weighs ~170 bytes for as long as it is referenced.
    this.#connectTimer = undefined;
    this.#host.requireServing?.();
    const authenticate = this.#host.authenticate;
    if (!authenticate) return this.#connected(clientHeartbeat);
    this.state = 'authenticating';
    // Nothing more is read until the token is verified (a JWKS fetch can take seconds): the client's
    // next frames wait in its own socket, as a throttled session's do, not in this session's memory.
    this.#connection.pause();
    authenticate(connectFrame.headers).then(
      (principal) => {
        if (this.state !== 'authenticating') return;
        this.principal = principal.user;
        try {
          this.credentials.set(principal);
          this.#host.admit(this);
        } catch (err) {
          return this.#fail(err);
        }
        if (this.state !== 'authenticating') return;
        this.#connection.resume();
        this.#connected(clientHeartbeat);
      },
      (err) => this.#fail(err),
    );
  }

  #connected(clientHeartbeat: [number, number]): void {
    const { config } = this.#host;
    this.state = 'connected';
    this.#decoder.setVersion(this.version);
    this.#decoder.setLimits(decoderLimits(config, true));
    const intervals = negotiateHeartbeat(clientHeartbeat, config.heartbeatMs);
    this.send(
      frame('CONNECTED', {
        version: this.version,
        'heart-beat': `${config.heartbeatMs},${config.heartbeatMs}`,
        session: this.sessionId,
        server: this.#host.serverName,
        'user-name': this.sessionId,
      }),
    );
    this.#heartbeat = new Heartbeat(intervals, config.heartbeatGraceMs, this);
    const backlog = this.#backlog;
    this.#backlog = undefined;
    for (const queued of backlog ?? []) this.#onFrame(queued);
  }

  /** A refused frame: fatal codes end the session, the others are reported and the session goes on. */
  #refuse(err: unknown, receiptId: string | undefined): void {
    if (err instanceof StompRtcError && !err.fatal) {
      this.#host.refused(err.code);
      this.reportError(err.code, err.message, receiptId);
      return;
    }
    this.#fail(err, receiptId);
  }

  /** ERROR frame, then close: "the server MUST then close the connection" (§ERROR). */
  #fail(err: unknown, receiptId?: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const known = err instanceof StompRtcError ? err : undefined;
    if (!known) this.#host.log.error({ err, session: this.sessionId }, 'unexpected error in STOMP session');
    const code: ErrorCode = known?.code ?? 'MALFORMED_FRAME';
    const message = known?.message ?? 'internal server error';
    this.#host.refused(code);
    const headers: Record<string, string> = { message: oneLine(message), code, 'content-type': 'text/plain' };
    if (receiptId !== undefined) headers['receipt-id'] = receiptId;
    if (code === 'UNSUPPORTED_VERSION') headers.version = '1.0,1.1,1.2';
    this.send(frame('ERROR', headers, `${code}: ${message}\n${ERROR_CATALOGUE[code].summary}\n`));
    this.#host.log.debug({ session: this.sessionId, code }, message);
    this.#close();
  }

  #close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.#connection.close();
    this.#cleanUp();
  }

  #cleanUp(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#throttleTimer);
    this.#credentials?.stop();
    this.#heartbeat?.stop();
    this.#backlog = undefined;
    this.#throttled = undefined;
    this.#host.router.sessionClosed(this);
    this.#host.closed(this);
  }
}

/** Header values travel on one line; in 1.0 a newline could not even be escaped. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** What a waiting frame holds on to: its body and header text. */
function frameSize(frame: StompFrame): number {
  let bytes = frame.body.length + frame.command.length;
  for (const [name, value] of Object.entries(frame.headers)) bytes += name.length + value.length + 2;
  return bytes;
}
