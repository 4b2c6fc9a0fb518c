import type { DecoderLimits } from '../../shared/src/stomp/limits.js';

/**
 * Every limit and setting of the server, with its unit and why it has its default. Values come
 * from environment variables (names in UPPER_SNAKE_CASE next to each field, read only by
 * `loadConfig`); they are validated once at start-up and the result is frozen.
 */
export interface Config {
  /** HTTP port; 0 picks a free one. `PORT` @default 8080 */
  readonly port: number;
  /** Interface to listen on. `HOST` @default '0.0.0.0' */
  readonly host: string;
  /** Log level for pino. `LOG_LEVEL` @default 'info' */
  readonly logLevel: string;

  /** Largest frame after CONNECT, in bytes; Spring's messageSizeLimit default too. `MAX_FRAME_BYTES` @default 65536 */
  readonly maxFrameBytes: number;
  /** Largest frame before CONNECT: a CONNECT needs little, and an unauthenticated peer gets little. `MAX_CONNECT_FRAME_BYTES` @default 8192 */
  readonly maxConnectFrameBytes: number;
  /** Most headers in one frame. `MAX_HEADERS` @default 64 */
  readonly maxHeaders: number;
  /** Longest header line in bytes. `MAX_HEADER_LINE_BYTES` @default 8192 */
  readonly maxHeaderLineBytes: number;
  /** Time allowed between opening the transport and CONNECT, in ms. `CONNECT_TIMEOUT_MS` @default 10000 */
  readonly connectTimeoutMs: number;
  /** Subscriptions one session may hold (rooms and /user queues count). `MAX_SUBSCRIPTIONS` @default 100 */
  readonly maxSubscriptionsPerSession: number;
  /** Open transactions per session, and frames buffered in one. `MAX_TRANSACTIONS` / `MAX_TRANSACTION_FRAMES` @default 16 / 1000 */
  readonly maxTransactionsPerSession: number;
  readonly maxFramesPerTransaction: number;
  /** Unacknowledged messages a client/client-individual subscription may hold before delivery pauses. `MAX_UNACKED` @default 1000 */
  readonly maxUnackedPerSubscription: number;
  /** Undelivered messages one /queue destination may hold; a SEND past it gets QUEUE_FULL. `MAX_QUEUE_DEPTH` @default 10000 */
  readonly maxQueueDepth: number;
  /**
   * Bytes queued toward one session before it counts as a slow consumer and is closed with
   * ERROR SLOW_CONSUMER; Spring's send buffer limit is 512 KiB. `OUTBOUND_BUFFER_BYTES` @default 1048576
   */
  readonly outboundBufferBytes: number;
  /** Heart-beat the server offers and asks for, in ms (0 = none). `HEARTBEAT_MS` @default 10000 */
  readonly heartbeatMs: number;
  /** Extra time past the negotiated interval before a silent client is closed, in ms. `HEARTBEAT_GRACE_MS` @default 5000 */
  readonly heartbeatGraceMs: number;
  /** Largest SockJS request body (xhr_send); SockJS carries one or more frames per request. `SOCKJS_MAX_REQUEST_BYTES` @default 131072 */
  readonly sockjsMaxRequestBytes: number;
  /** Time given to sessions to finish when the server closes, in ms. `SHUTDOWN_GRACE_MS` @default 5000 */
  readonly shutdownGraceMs: number;

  /** HS256 secret for JWT auth; empty turns auth off. `AUTH_JWT_SECRET` @default '' */
  readonly authJwtSecret: string;

  /**
   * Members per room. Rooms are a full mesh, so each member holds (n-1) peer connections and a
   * message costs n-1 sends; past about 8 browsers a mesh spends more on uplink than it saves.
   * `MAX_ROOM_MEMBERS` @default 8
   */
  readonly maxRoomMembers: number;
  /** Rooms one session may be in at once. `MAX_ROOMS_PER_SESSION` @default 8 */
  readonly maxRoomsPerSession: number;
  /** Largest signal body (an SDP with video is 3–10 KiB). `SIGNAL_MAX_BYTES` @default 16384 */
  readonly signalMaxBytes: number;
  /** Largest relay body; clients chunk under it. `RELAY_MAX_BYTES` @default 49152 */
  readonly relayMaxBytes: number;
  /** Sustained frames per second one session may send (token bucket). `SEND_RATE_PER_S` @default 200 */
  readonly sendRatePerSecond: number;
  /** Bucket size: frames a session may send in a burst. `SEND_BURST` @default 400 */
  readonly sendBurst: number;

  /** STUN URLs for the welcome, comma-separated. `STUN_URLS` @default none */
  readonly stunUrls: readonly string[];
  /** TURN URLs for the welcome, comma-separated. `TURN_URLS` @default none */
  readonly turnUrls: readonly string[];
  /** coturn's static-auth-secret for TURN REST credentials. `TURN_SECRET` @default '' */
  readonly turnSecret: string;
  /** Lifetime of TURN credentials, in seconds. `TURN_TTL_S` @default 3600 */
  readonly turnTtlSeconds: number;

  /** Directory of the built demo app served at GET /. `DEMO_DIR` @default 'dist/demo' */
  readonly demoDir: string;

  /**
   * RabbitMQ's STOMP adapter to relay `/topic` and `/queue` to, as `stomp://login:passcode@host:port`
   * (rabbitmq_stomp plugin, port 61613), so several nodes share destinations; empty runs the
   * embedded in-memory broker, which serves one node. Losing RabbitMQ closes the sessions with
   * ERROR BROKER_UNAVAILABLE and /healthz says 503 until it is back. `BROKER_RELAY_URL` @default ''
   */
  readonly brokerRelayUrl: string;
  /** RabbitMQ virtual host for the relay (the CONNECT `host` header). `BROKER_RELAY_VHOST` @default '/' */
  readonly brokerRelayVhost: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function list(env: Env, name: string, scheme: RegExp): string[] {
  const raw = env[name];
  if (!raw) return [];
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!scheme.test(item)) throw new ConfigError(`${name}: "${item}" is not a ${scheme.source} URL`);
  }
  return items;
}

function relayUrl(env: Env, name: string): string {
  const raw = env[name]?.trim() ?? '';
  if (!raw) return '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not a URL (expected stomp://login:passcode@host:61613)`);
  }
  if (url.protocol !== 'stomp:' || !url.hostname) throw new ConfigError(`${name}: "${raw}" must be stomp://login:passcode@host:port`);
  return raw;
}

/** Reads, validates and freezes the configuration. The only reader of environment variables is main.ts, which passes them here. */
export function loadConfig(env: Env = {}): Config {
  const config: Config = {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '0.0.0.0',
    logLevel: env.LOG_LEVEL || 'info',
    maxFrameBytes: integer(env, 'MAX_FRAME_BYTES', 64 * 1024, 1024),
    maxConnectFrameBytes: integer(env, 'MAX_CONNECT_FRAME_BYTES', 8 * 1024, 256),
    maxHeaders: integer(env, 'MAX_HEADERS', 64, 8),
    maxHeaderLineBytes: integer(env, 'MAX_HEADER_LINE_BYTES', 8 * 1024, 256),
    connectTimeoutMs: integer(env, 'CONNECT_TIMEOUT_MS', 10_000, 100),
    maxSubscriptionsPerSession: integer(env, 'MAX_SUBSCRIPTIONS', 100, 1),
    maxTransactionsPerSession: integer(env, 'MAX_TRANSACTIONS', 16, 1),
    maxFramesPerTransaction: integer(env, 'MAX_TRANSACTION_FRAMES', 1000, 1),
    maxUnackedPerSubscription: integer(env, 'MAX_UNACKED', 1000, 1),
    maxQueueDepth: integer(env, 'MAX_QUEUE_DEPTH', 10_000, 1),
    outboundBufferBytes: integer(env, 'OUTBOUND_BUFFER_BYTES', 1024 * 1024, 64 * 1024),
    heartbeatMs: integer(env, 'HEARTBEAT_MS', 10_000, 0),
    heartbeatGraceMs: integer(env, 'HEARTBEAT_GRACE_MS', 5_000, 0),
    sockjsMaxRequestBytes: integer(env, 'SOCKJS_MAX_REQUEST_BYTES', 128 * 1024, 1024),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 5_000, 0),
    authJwtSecret: env.AUTH_JWT_SECRET ?? '',
    maxRoomMembers: integer(env, 'MAX_ROOM_MEMBERS', 8, 2, 1000),
    maxRoomsPerSession: integer(env, 'MAX_ROOMS_PER_SESSION', 8, 1),
    signalMaxBytes: integer(env, 'SIGNAL_MAX_BYTES', 16 * 1024, 1024),
    relayMaxBytes: integer(env, 'RELAY_MAX_BYTES', 48 * 1024, 1024),
    sendRatePerSecond: integer(env, 'SEND_RATE_PER_S', 200, 1),
    sendBurst: integer(env, 'SEND_BURST', 400, 1),
    stunUrls: list(env, 'STUN_URLS', /^stuns?:/),
    turnUrls: list(env, 'TURN_URLS', /^turns?:/),
    turnSecret: env.TURN_SECRET ?? '',
    turnTtlSeconds: integer(env, 'TURN_TTL_S', 3600, 60),
    demoDir: env.DEMO_DIR || 'dist/demo',
    brokerRelayUrl: relayUrl(env, 'BROKER_RELAY_URL'),
    brokerRelayVhost: env.BROKER_RELAY_VHOST || '/',
  };
  if (config.maxConnectFrameBytes > config.maxFrameBytes) {
    throw new ConfigError('MAX_CONNECT_FRAME_BYTES must not exceed MAX_FRAME_BYTES');
  }
  if (config.relayMaxBytes + config.maxHeaderLineBytes > config.maxFrameBytes) {
    throw new ConfigError('RELAY_MAX_BYTES plus room for headers (MAX_HEADER_LINE_BYTES) must fit in MAX_FRAME_BYTES');
  }
  if (config.turnUrls.length > 0 && !config.turnSecret) {
    throw new ConfigError('TURN_URLS is set but TURN_SECRET is empty: TURN credentials cannot be issued');
  }
  return Object.freeze(config);
}

export function decoderLimits(config: Config, connected: boolean): DecoderLimits {
  return {
    maxFrameBytes: connected ? config.maxFrameBytes : config.maxConnectFrameBytes,
    maxHeaders: config.maxHeaders,
    maxHeaderLineBytes: config.maxHeaderLineBytes,
  };
}
