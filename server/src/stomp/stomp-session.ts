import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { FastifyBaseLogger } from 'fastify';
import { ERROR_CATALOGUE, StompRtcError, type ErrorCode } from '../../../shared/src/errors.js';
import { STOMP_COMMANDS } from '../../../shared/src/stomp/commands.js';
import { createHeaders, frame, textEncoder, type StompFrame, type StompVersion } from '../../../shared/src/stomp/frame.js';
import { FrameDecoder } from '../../../shared/src/stomp/frame-decoder.js';
import { encodeFrame, HEARTBEAT_EOL } from '../../../shared/src/stomp/frame-encoder.js';
import { validateClientFrame } from '../../../shared/src/stomp/validate.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import { decoderLimits, type Config } from '../config.js';
import type { InboundRouter } from '../messaging/router.js';
import type { SessionContext, SessionSubscription } from '../messaging/session-context.js';
import type { Connection } from '../transport/connection.js';
import type { Authenticator } from './authenticator.js';
import { Heartbeat, negotiateHeartbeat, parseHeartbeatHeader } from './heartbeat.js';
import { normalizeLegacyFrame } from './legacy-frames.js';
import { RateLimiter } from './rate-limiter.js';
import { Transactions } from './transactions.js';
import { negotiateVersion } from './version.js';

export type SessionState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closing' | 'closed';

/** What a session needs from the server around it. */
export interface SessionHost {
  readonly config: Config;
  readonly router: InboundRouter;
  readonly log: FastifyBaseLogger;
  readonly serverName: string;
  readonly authenticate: Authenticator | undefined;
  opened(session: StompSession): void;
  closed(session: StompSession): void;
  /** Counts each refusal by code, for /metrics. */
  refused(code: ErrorCode): void;
}

/** RATE_LIMITED reports are themselves limited, or a flooding client would be answered in kind. */
const RATE_LIMIT_REPORT_INTERVAL_MS = 1000;

/**
 * One STOMP session on one transport connection: decodes frames, negotiates CONNECT, keeps
 * heart-beats, enforces per-session limits and turns refusals into ERROR frames (fatal) or
 * messages on /user/queue/errors (non-fatal). Everything else goes to the router.
 */
export class StompSession implements SessionContext {
  readonly sessionId = randomBytes(12).toString('base64url');
  readonly subscriptions = new Map<string, SessionSubscription>();
  readonly transactions: Transactions;
  state: SessionState = 'awaiting-connect';
  version: StompVersion = '1.2';
  principal: string | undefined;

  private readonly decoder: FrameDecoder;
  private readonly rateLimiter: RateLimiter;
  private heartbeat: Heartbeat | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Frames that arrived while CONNECT was being authenticated. */
  private backlog: StompFrame[] = [];
  private lastRateLimitReport = 0;
  /** Settles once every broker operation started so far has; RECEIPTs go out in frame order behind it. */
  private brokerWork: Promise<void> | undefined;

  constructor(private readonly connection: Connection, private readonly host: SessionHost) {
    const { config } = host;
    this.transactions = new Transactions(config.maxTransactionsPerSession, config.maxFramesPerTransaction);
    this.rateLimiter = new RateLimiter(config.sendRatePerSecond, config.sendBurst);
    this.decoder = new FrameDecoder({ limits: decoderLimits(config, false), version: '1.2' }, (f) => this.onFrame(f), () => {});
    connection.onData((chunk) => this.onData(chunk));
    connection.onClose(() => this.onTransportClosed());
    this.connectTimer = setTimeout(
      () => this.fail(new StompRtcError('CONNECT_TIMEOUT', `no CONNECT within ${config.connectTimeoutMs} ms`)),
      config.connectTimeoutMs,
    );
    this.connectTimer.unref();
    host.opened(this);
  }

  get transport(): Connection['transport'] {
    return this.connection.transport;
  }

  /** The broker's clientOutbound path. */
  deliver(message: StompFrame): void {
    this.send(message);
  }

  send(outbound: StompFrame): void {
    if (this.state === 'closed') return;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(outbound, this.version);
    } catch (err) {
      // A 1.2 sender's header with a newline cannot be put on a 1.0 wire; this session misses that one message.
      this.host.log.warn({ session: this.sessionId, err }, `dropped a ${outbound.command} this session's STOMP ${this.version} cannot carry`);
      return;
    }
    this.write(bytes, !this.connection.binary || isUtf8(outbound.body));
  }

  disconnect(receiptId: string | undefined): void {
    if (receiptId !== undefined) this.send(frame('RECEIPT', { 'receipt-id': receiptId }));
    this.close();
  }

  /** Server shutdown: tell the client why, then close. */
  shutdown(): void {
    this.fail(new StompRtcError('SERVER_SHUTTING_DOWN', 'the server is shutting down'));
  }

  /** The broker cannot keep this session's subscriptions (BROKER_UNAVAILABLE): ERROR, then close. */
  abort(error: StompRtcError): void {
    // Deferred: the broker calls this while walking its own subscription tables.
    queueMicrotask(() => this.fail(error));
  }

  /** Sends a non-fatal error to the session's /user/queue/errors subscription. */
  reportError(code: ErrorCode, message: string, receiptId?: string): void {
    const headers = createHeaders([['content-type', 'application/json']]);
    if (receiptId !== undefined) headers['receipt-id'] = receiptId;
    this.host.router.sendToUser(this.sessionId, DESTINATIONS.userErrors, headers, textEncoder.encode(JSON.stringify({ code, message })));
  }

  private write(bytes: Uint8Array, text: boolean): void {
    this.connection.send(bytes, text);
    this.heartbeat?.noteOutbound();
    if (this.connection.bufferedBytes > this.host.config.outboundBufferBytes && this.state === 'connected') {
      // Deferred: this may run inside a broker fan-out loop that must not see the session vanish.
      queueMicrotask(() => this.fail(new StompRtcError('SLOW_CONSUMER',
        `more than ${this.host.config.outboundBufferBytes} bytes waited to be sent (OUTBOUND_BUFFER_BYTES)`)));
    }
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.heartbeat?.noteInbound();
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  private onFrame(received: StompFrame): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const receipt = received.headers.receipt;
    try {
      if (this.state === 'awaiting-connect') return this.connect(received);
      if (this.state === 'authenticating') {
        this.backlog.push(received);
        return;
      }
      this.handle(received);
    } catch (err) {
      this.refuse(err, receipt);
    }
  }

  private handle(received: StompFrame): void {
    if (received.command === 'CONNECT' || received.command === 'STOMP') {
      throw new StompRtcError('ALREADY_CONNECTED', 'this session is already connected; a second CONNECT is not allowed');
    }
    const normalized = normalizeLegacyFrame(received, this.version);
    validateClientFrame(normalized);
    // DISCONNECT is never refused: a client that was sending too fast must still be able to leave cleanly.
    if (normalized.command !== 'DISCONNECT' && !this.rateLimiter.tryTake()) {
      throw new StompRtcError('RATE_LIMITED', `more than ${this.host.config.sendRatePerSecond} frames/s (SEND_RATE_PER_S)`);
    }
    const done = this.host.router.dispatch(this, normalized);
    const receipt = normalized.headers.receipt;
    const wantsReceipt = receipt !== undefined && normalized.command !== 'DISCONNECT';
    if (done === undefined && this.brokerWork === undefined) {
      if (wantsReceipt) this.send(frame('RECEIPT', { 'receipt-id': receipt }));
      return;
    }
    // A RECEIPT says the frame took effect ("the server has received and processed", §RECEIPT): for a
    // relayed SUBSCRIBE that is when RabbitMQ has it. Later RECEIPTs wait too, so they stay in order.
    const work: Promise<void> = Promise.all([this.brokerWork, done]).then(
      () => {
        if (wantsReceipt) this.send(frame('RECEIPT', { 'receipt-id': receipt }));
      },
      (err) => this.refuse(err, receipt),
    ).finally(() => {
      if (this.brokerWork === work) this.brokerWork = undefined;
    });
    this.brokerWork = work;
  }

  /** https://stomp.github.io/stomp-specification-1.2.html#CONNECT_or_STOMP_Frame */
  private connect(connectFrame: StompFrame): void {
    if (connectFrame.command !== 'CONNECT' && connectFrame.command !== 'STOMP') {
      throw new StompRtcError('NOT_CONNECTED', `${connectFrame.command} before CONNECT: the first frame must be CONNECT or STOMP`);
    }
    if (connectFrame.body.length > 0) throw new StompRtcError('BODY_NOT_ALLOWED', `${connectFrame.command} may not have a body (see ${STOMP_COMMANDS.CONNECT.spec})`);
    this.version = negotiateVersion(connectFrame.headers['accept-version']);
    const clientHeartbeat = parseHeartbeatHeader(connectFrame.headers['heart-beat']);
    if (!clientHeartbeat) throw new StompRtcError('MALFORMED_FRAME', `heart-beat "${connectFrame.headers['heart-beat']}" is not "<ms>,<ms>"`);
    clearTimeout(this.connectTimer);
    const authenticate = this.host.authenticate;
    if (!authenticate) return this.connected(clientHeartbeat);
    this.state = 'authenticating';
    authenticate(connectFrame.headers).then(
      (principal) => {
        if (this.state !== 'authenticating') return;
        this.principal = principal.user;
        this.connected(clientHeartbeat);
      },
      (err) => this.fail(err),
    );
  }

  private connected(clientHeartbeat: [number, number]): void {
    const { config } = this.host;
    this.state = 'connected';
    this.decoder.setVersion(this.version);
    this.decoder.setLimits(decoderLimits(config, true));
    const intervals = negotiateHeartbeat(clientHeartbeat, config.heartbeatMs);
    this.send(frame('CONNECTED', {
      version: this.version,
      'heart-beat': `${config.heartbeatMs},${config.heartbeatMs}`,
      session: this.sessionId,
      server: this.host.serverName,
      'user-name': this.sessionId,
    }));
    this.heartbeat = new Heartbeat(
      intervals,
      config.heartbeatGraceMs,
      () => this.write(HEARTBEAT_EOL, true),
      (silentMs) => this.fail(new StompRtcError('HEARTBEAT_TIMEOUT', `no frame or heart-beat from the client for ${silentMs} ms`)),
    );
    this.heartbeat.start();
    const backlog = this.backlog;
    this.backlog = [];
    for (const queued of backlog) this.onFrame(queued);
  }

  /** A refused frame: fatal codes end the session, the others are reported and the session goes on. */
  private refuse(err: unknown, receiptId: string | undefined): void {
    if (err instanceof StompRtcError && !err.fatal) {
      this.host.refused(err.code);
      if (err.code === 'RATE_LIMITED') {
        const now = Date.now();
        if (now - this.lastRateLimitReport < RATE_LIMIT_REPORT_INTERVAL_MS) return;
        this.lastRateLimitReport = now;
      }
      this.reportError(err.code, err.message, receiptId);
      return;
    }
    this.fail(err, receiptId);
  }

  /** ERROR frame, then close: "the server MUST then close the connection" (§ERROR). */
  private fail(err: unknown, receiptId?: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const known = err instanceof StompRtcError ? err : undefined;
    if (!known) this.host.log.error({ err, session: this.sessionId }, 'unexpected error in STOMP session');
    const code: ErrorCode = known?.code ?? 'MALFORMED_FRAME';
    const message = known?.message ?? 'internal server error';
    this.host.refused(code);
    const headers: Record<string, string> = { message: oneLine(message), code, 'content-type': 'text/plain' };
    if (receiptId !== undefined) headers['receipt-id'] = receiptId;
    if (code === 'UNSUPPORTED_VERSION') headers.version = '1.0,1.1,1.2';
    this.send(frame('ERROR', headers, `${code}: ${message}\n${ERROR_CATALOGUE[code].summary}\n`));
    this.host.log.debug({ session: this.sessionId, code }, message);
    this.close();
  }

  private close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.connection.close();
    this.cleanUp();
  }

  private onTransportClosed(): void {
    this.cleanUp();
  }

  private cleanUp(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    this.heartbeat?.stop();
    this.backlog = [];
    this.host.router.sessionClosed(this);
    this.host.closed(this);
  }
}

/** Header values travel on one line; in 1.0 a newline could not even be escaped. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
