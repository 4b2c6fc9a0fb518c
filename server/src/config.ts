import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DecoderLimits } from '../../shared/src/stomp/limits.js';

/**
 * Every limit and setting of the server, declared once in SETTINGS: its environment variable
 * (read only by `loadConfig`, which main.ts calls with process.env), its Fastify plugin option
 * (the key itself, camelCase), its default with why, its bounds and what it means. Both sources go
 * through the same validation; the result is frozen. `stomprtc --help` and the README's
 * configuration table list the same table.
 */
interface Setting<T> {
  /** The environment variable. */
  readonly env: string;
  /** What it means, for `--help`. */
  readonly doc: string;
  readonly default: T;
  /** The default when the server runs as a plugin inside someone else's app, where it differs. */
  readonly pluginDefault?: T;
  /** Only for the standalone server (`stomprtc`, `npm start`): the user's own app listens and logs. */
  readonly standaloneOnly?: boolean;
  /** The value from an environment variable's text (a plain function: loadConfig destructures it). */
  readonly fromText: (raw: string, name: string) => T;
  /** The value from a plugin option, as given. */
  readonly fromValue: (value: unknown, name: string) => T;
  /** The default as `--help` shows it. */
  readonly shown: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Spec<T> {
  readonly env: string;
  readonly default: T;
  readonly doc: string;
}

function integer(spec: Spec<number> & { readonly min: number; readonly max?: number }): Setting<number> {
  const { env, doc, min, max = Number.MAX_SAFE_INTEGER } = spec;
  const bounded = (value: number, name: string): number => {
    if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
    return value;
  };
  return {
    env,
    doc,
    default: spec.default,
    shown: String(spec.default),
    fromText(raw, name) {
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
      return bounded(Number(raw), name);
    },
    fromValue(value, name) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
      }
      return bounded(value, name);
    },
  };
}

function text(spec: Spec<string> & { readonly check?: (value: string, name: string) => string }): Setting<string> {
  const { env, doc, check = (value: string) => value } = spec;
  return {
    env,
    doc,
    default: spec.default,
    shown: spec.default === '' ? 'empty' : spec.default,
    fromText: (raw, name) => check(raw.trim(), name),
    fromValue(value, name) {
      if (typeof value !== 'string') throw new ConfigError(`${name} must be a string, got ${JSON.stringify(value)}`);
      return check(value.trim(), name);
    },
  };
}

function flag(spec: Spec<boolean> & { readonly pluginDefault: boolean }): Setting<boolean> {
  const { env, doc, pluginDefault } = spec;
  return {
    env,
    doc,
    default: spec.default,
    pluginDefault,
    shown: String(spec.default),
    fromText(raw, name) {
      const value = raw.trim().toLowerCase();
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw new ConfigError(`${name} must be true or false, got "${raw}"`);
    },
    fromValue(value, name) {
      if (typeof value !== 'boolean') {
        throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
      }
      return value;
    },
  };
}

/**
 * A comma-separated list in the environment, an array of strings as an option; `item` checks (and
 * may normalize) each entry. Empty by default.
 */
function list(
  spec: Omit<Spec<never>, 'default'> & { readonly item: (value: string, name: string) => string },
): Setting<readonly string[]> {
  const { env, doc, item } = spec;
  const checked = (items: readonly string[], name: string): readonly string[] =>
    Object.freeze(
      items
        .map((value) => value.trim())
        .filter(Boolean)
        .map((value) => item(value, name)),
    );
  return {
    env,
    doc,
    default: Object.freeze([]),
    shown: 'none',
    fromText: (raw, name) => checked(raw.split(','), name),
    fromValue(value, name) {
      if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
        throw new ConfigError(`${name} must be an array of strings, got ${JSON.stringify(value)}`);
      }
      return checked(value, name);
    },
  };
}

/** A list item check: a URL whose scheme matches. */
function url(scheme: RegExp): (value: string, name: string) => string {
  return (value, name) => {
    if (!scheme.test(value)) throw new ConfigError(`${name}: "${value}" is not a ${scheme.source} URL`);
    return value;
  };
}

/** Only for the standalone server (`stomprtc`, `npm start`): as a plugin, the user's own app listens and logs. */
function standaloneOnly<T>(setting: Setting<T>): Setting<T> & { readonly standaloneOnly: true } {
  return { ...setting, standaloneOnly: true };
}

/** An absolute URL path without a trailing slash: what Fastify routes and the SockJS prefix expect. */
function urlPath(value: string, name: string): string {
  if (!/^(\/[\w.~-]+)+$/.test(value)) {
    throw new ConfigError(
      `${name} must be a path like /ws (letters, digits, . _ ~ -, no trailing slash), got "${value}"`,
    );
  }
  return value;
}

function relayUrl(raw: string, name: string): string {
  if (!raw) return '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not a URL (expected stomp://login:passcode@host:61613)`);
  }
  if (url.protocol !== 'stomp:' || !url.hostname) {
    throw new ConfigError(`${name}: "${raw}" must be stomp://login:passcode@host:port`);
  }
  return raw;
}

/** The name becomes part of a RabbitMQ queue name: letters, digits, '.', '-' and '_' only. */
function clusterName(value: string, name: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(value) || value.startsWith('amq.')) {
    throw new ConfigError(
      `${name}: "${value}" must be 1-200 letters, digits, '.', '-' or '_', not starting with "amq."`,
    );
  }
  return value;
}

function nonEmpty(value: string, name: string): string {
  if (!value) throw new ConfigError(`${name} must not be empty`);
  return value;
}

/** An http(s) URL, or empty for none. */
function httpUrl(value: string, name: string): string {
  if (!value) return '';
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new ConfigError(`${name}: "${value}" is not an http(s) URL`);
  }
  return value;
}

/** PEM text as it is, or else the path of a PEM file (read once, here); either way it must parse as a public key. */
function publicKey(value: string, name: string): string {
  if (!value) return '';
  let pem = value;
  if (!value.startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException;
      throw new ConfigError(`${name}: "${value}" is neither PEM text nor a readable file (${code})`);
    }
  }
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch {
    throw new ConfigError(`${name}: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)`);
  }
  if (type !== 'rsa' && type !== 'ec' && type !== 'ed25519') {
    throw new ConfigError(`${name}: a ${type} key; use an RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA) key`);
  }
  return pem;
}

/**
 * A list item check: browsers send `Origin` as scheme://host[:port], lower-case, without a path;
 * the list is kept as such.
 */
function origin(value: string, name: string): string {
  url(/^https?:\/\//)(value, name);
  const normalized = URL.canParse(value) ? new URL(value).origin : 'null';
  if (normalized === 'null' || value.replace(/\/$/, '').toLowerCase() !== normalized) {
    throw new ConfigError(`${name}: "${value}" is not an origin (scheme://host[:port], no path)`);
  }
  return normalized;
}

/** A list item taken as it is. */
function anyText(value: string): string {
  return value;
}

/** @internal exported for test/server/config.test.ts, which keeps the README's table in step */
export const SETTINGS = {
  /** `PORT` @default 8080 */
  port: standaloneOnly(
    integer({
      env: 'PORT',
      default: 8080,
      min: 0,
      max: 65535,
      doc: 'HTTP port; 0 picks a free one',
    }),
  ),
  /** `HOST` @default '0.0.0.0' */
  host: standaloneOnly(
    text({
      env: 'HOST',
      default: '0.0.0.0',
      doc: 'interface to listen on',
      check: nonEmpty,
    }),
  ),
  /** `LOG_LEVEL` @default 'info' */
  logLevel: standaloneOnly(
    text({
      env: 'LOG_LEVEL',
      default: 'info',
      doc: 'pino log level',
      check: nonEmpty,
    }),
  ),
  /** `WS_PATH` @default '/ws' */
  wsPath: text({
    env: 'WS_PATH',
    default: '/ws',
    doc: 'path of the STOMP-over-WebSocket endpoint',
    check: urlPath,
  }),
  /** `SOCKJS_PATH` @default '/sockjs' */
  sockjsPath: text({
    env: 'SOCKJS_PATH',
    default: '/sockjs',
    doc: 'path prefix of the SockJS endpoint',
    check: urlPath,
  }),
  /** `HEALTH_PATH` @default '/healthz' */
  healthPath: text({
    env: 'HEALTH_PATH',
    default: '/healthz',
    doc: 'path of the health check (503 while draining)',
    check: urlPath,
  }),
  /** `METRICS_PATH` @default '/metrics' */
  metricsPath: text({
    env: 'METRICS_PATH',
    default: '/metrics',
    doc: 'path of the Prometheus metrics',
    check: urlPath,
  }),
  /** Spring's messageSizeLimit default too. `MAX_FRAME_BYTES` @default 65536 */
  maxFrameBytes: integer({
    env: 'MAX_FRAME_BYTES',
    default: 64 * 1024,
    min: 1024,
    doc: 'largest STOMP frame after CONNECT, in bytes',
  }),
  /** A CONNECT needs little, and an unauthenticated peer gets little. `MAX_CONNECT_FRAME_BYTES` @default 8192 */
  maxConnectFrameBytes: integer({
    env: 'MAX_CONNECT_FRAME_BYTES',
    default: 8 * 1024,
    min: 256,
    doc: 'largest frame before CONNECT, in bytes',
  }),
  /** `MAX_HEADERS` @default 64 */
  maxHeaders: integer({
    env: 'MAX_HEADERS',
    default: 64,
    min: 8,
    doc: 'most headers in one frame',
  }),
  /** `MAX_HEADER_LINE_BYTES` @default 8192 */
  maxHeaderLineBytes: integer({
    env: 'MAX_HEADER_LINE_BYTES',
    default: 8 * 1024,
    min: 256,
    doc: 'longest header line, in bytes',
  }),
  /** `CONNECT_TIMEOUT_MS` @default 10000 */
  connectTimeoutMs: integer({
    env: 'CONNECT_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    doc: 'time from opening the transport to CONNECT, in ms',
  }),
  /** Rooms and /user queues count. `MAX_SUBSCRIPTIONS` @default 100 */
  maxSubscriptionsPerSession: integer({
    env: 'MAX_SUBSCRIPTIONS',
    default: 100,
    min: 1,
    doc: 'subscriptions one session may hold',
  }),
  /** `MAX_TRANSACTIONS` @default 16 */
  maxTransactionsPerSession: integer({
    env: 'MAX_TRANSACTIONS',
    default: 16,
    min: 1,
    doc: 'open transactions per session',
  }),
  /** `MAX_TRANSACTION_FRAMES` @default 1000 */
  maxFramesPerTransaction: integer({
    env: 'MAX_TRANSACTION_FRAMES',
    default: 1000,
    min: 1,
    doc: 'frames buffered in one transaction',
  }),
  /** Delivery pauses past it. `MAX_UNACKED` @default 1000 */
  maxUnackedPerSubscription: integer({
    env: 'MAX_UNACKED',
    default: 1000,
    min: 1,
    doc: 'unacknowledged deliveries per client-ack subscription',
  }),
  /** A SEND past it gets QUEUE_FULL. `MAX_QUEUE_DEPTH` @default 10000 */
  maxQueueDepth: integer({
    env: 'MAX_QUEUE_DEPTH',
    default: 10_000,
    min: 1,
    doc: 'undelivered messages per /queue destination',
  }),
  /**
   * Queues are free to create and MAX_QUEUE_DEPTH alone allows 10,000 messages of 64 KiB in each.
   * A message a consumer takes at once never counts. `MAX_QUEUED_BYTES` @default 67108864
   */
  maxQueuedBytes: integer({
    env: 'MAX_QUEUED_BYTES',
    default: 64 * 1024 * 1024,
    min: 1024,
    doc: 'undelivered bytes (body and headers) all /queue destinations may hold; past it: QUEUE_BYTES_EXCEEDED',
  }),
  /** `MAX_QUEUED_BYTES_PER_SESSION` @default 8388608 */
  maxQueuedBytesPerSession: integer({
    env: 'MAX_QUEUED_BYTES_PER_SESSION',
    default: 8 * 1024 * 1024,
    min: 1024,
    doc: "undelivered bytes of one session's messages in /queue destinations; past it a SEND gets QUEUE_BYTES_EXCEEDED",
  }),
  /**
   * Past it the session counts as a slow consumer and is closed with ERROR SLOW_CONSUMER; Spring's
   * send buffer limit is 512 KiB. `OUTBOUND_BUFFER_BYTES` @default 1048576
   */
  outboundBufferBytes: integer({
    env: 'OUTBOUND_BUFFER_BYTES',
    default: 1024 * 1024,
    min: 64 * 1024,
    doc: 'bytes queued toward one session before it is closed as a slow consumer',
  }),
  /** 0, or HEARTBEAT_MIN_MS to HEARTBEAT_MAX_MS (checked in crossCheck). `HEARTBEAT_MS` @default 10000 */
  heartbeatMs: integer({
    env: 'HEARTBEAT_MS',
    default: 10_000,
    min: 0,
    doc: 'heart-beat the server offers and asks for, in ms (0 = none, else 100 to 3600000)',
  }),
  /** `HEARTBEAT_GRACE_MS` @default 5000 */
  heartbeatGraceMs: integer({
    env: 'HEARTBEAT_GRACE_MS',
    default: 5_000,
    min: 0,
    doc: 'extra silence tolerated past the negotiated heart-beat, in ms',
  }),
  /** SockJS carries one or more frames per request (xhr_send). `SOCKJS_MAX_REQUEST_BYTES` @default 131072 */
  sockjsMaxRequestBytes: integer({
    env: 'SOCKJS_MAX_REQUEST_BYTES',
    default: 128 * 1024,
    min: 1024,
    doc: 'largest SockJS request body, in bytes',
  }),
  /** `SHUTDOWN_GRACE_MS` @default 5000 */
  shutdownGraceMs: integer({
    env: 'SHUTDOWN_GRACE_MS',
    default: 5_000,
    min: 0,
    doc: 'time sessions get to close when the server closes, in ms',
  }),
  /**
   * JWT auth is on when one key source is set: an HS256 secret, a public key, or a JWKS URL. Only
   * one may be set, so a token can never pick a weaker check by naming another algorithm.
   * `AUTH_JWT_SECRET` @default ''
   */
  authJwtSecret: text({
    env: 'AUTH_JWT_SECRET',
    default: '',
    doc: 'HS256 secret: CONNECT then needs a JWT; empty turns auth off (one key source only)',
  }),
  /** The algorithm follows the key's type. `AUTH_JWT_PUBLIC_KEY` @default '' */
  authJwtPublicKey: text({
    env: 'AUTH_JWT_PUBLIC_KEY',
    default: '',
    doc: 'PEM public key, inline or a file path (read at start-up): RSA → RS256, P-256 → ES256, Ed25519 → EdDSA',
    check: publicKey,
  }),
  /** https:, or http: on a trusted network. `AUTH_JWKS_URL` @default '' */
  authJwksUrl: text({
    env: 'AUTH_JWKS_URL',
    default: '',
    doc: 'JWKS URL; keys are cached and refetched for an unknown kid',
    check: httpUrl,
  }),
  /**
   * So tokens with made-up `kid`s cannot make the server hammer the IdP; jose's default.
   * `AUTH_JWKS_COOLDOWN_MS` @default 30000
   */
  authJwksCooldownMs: integer({
    env: 'AUTH_JWKS_COOLDOWN_MS',
    default: 30_000,
    min: 0,
    doc: 'least time between two JWKS fetches, in ms',
  }),
  /** Picks up revoked keys even if every `kid` is known; jose's default. `AUTH_JWKS_MAX_AGE_MS` @default 600000 */
  authJwksMaxAgeMs: integer({
    env: 'AUTH_JWKS_MAX_AGE_MS',
    default: 600_000,
    min: 1000,
    doc: 'age at which cached JWKS keys are fetched again, in ms',
  }),
  /** `AUTH_JWT_ISSUER` @default '' */
  authJwtIssuer: text({
    env: 'AUTH_JWT_ISSUER',
    default: '',
    doc: 'required iss claim; empty checks none',
  }),
  /** The token must name one. `AUTH_JWT_AUDIENCE` @default none */
  authJwtAudience: list({
    env: 'AUTH_JWT_AUDIENCE',
    item: anyText,
    doc: 'accepted aud values, comma-separated; none checks none',
  }),
  /** Between the issuer's clock and ours. `AUTH_CLOCK_TOLERANCE_S` @default 5 */
  authClockToleranceSeconds: integer({
    env: 'AUTH_CLOCK_TOLERANCE_S',
    default: 5,
    min: 0,
    max: 300,
    doc: 'clock skew allowed on exp/nbf/iat, in seconds',
  }),
  /**
   * A CONNECT past it gets TOO_MANY_SESSIONS; needs auth, since without it there is no user.
   * `MAX_SESSIONS_PER_USER` @default 0
   */
  maxSessionsPerUser: integer({
    env: 'MAX_SESSIONS_PER_USER',
    default: 0,
    min: 0,
    doc: 'sessions one user (JWT sub) may hold at once (0 = no cap; needs auth)',
  }),
  /**
   * A browser request from any other origin gets 403 before the upgrade; the server's own origin is
   * always allowed and requests without `Origin` (non-browser clients) are not checked. `ALLOWED_ORIGINS` @default none
   */
  allowedOrigins: list({
    env: 'ALLOWED_ORIGINS',
    item: origin,
    doc: 'origins (scheme://host[:port], comma-separated) whose pages may connect; none allows all',
  }),
  /** Past it 429 before the upgrade, or ERROR TOO_MANY_CONNECTIONS. `MAX_CONNECTIONS_PER_IP` @default 0 */
  maxConnectionsPerIp: integer({
    env: 'MAX_CONNECTIONS_PER_IP',
    default: 0,
    min: 0,
    doc: 'open WebSocket and SockJS connections per client address (0 = no cap)',
  }),
  /** 0 trusts no `X-Forwarded-For` (anyone could forge it). `TRUST_PROXY` @default 0 */
  trustProxyHops: integer({
    env: 'TRUST_PROXY',
    default: 0,
    min: 0,
    max: 16,
    doc: 'proxies in front that append to X-Forwarded-For; the client address is read that many hops from the right',
  }),
  /**
   * Rooms are a full mesh, so each member holds (n-1) peer connections and a message costs n-1
   * sends; past about 8 browsers a mesh spends more on uplink than it saves. `MAX_ROOM_MEMBERS` @default 8
   */
  maxRoomMembers: integer({
    env: 'MAX_ROOM_MEMBERS',
    default: 8,
    min: 2,
    max: 1000,
    doc: 'members per room (full mesh: n-1 connections each)',
  }),
  /** `MAX_ROOMS_PER_SESSION` @default 8 */
  maxRoomsPerSession: integer({
    env: 'MAX_ROOMS_PER_SESSION',
    default: 8,
    min: 1,
    doc: 'rooms one session may be in at once',
  }),
  /** An SDP with video is 3–10 KiB. `SIGNAL_MAX_BYTES` @default 16384 */
  signalMaxBytes: integer({
    env: 'SIGNAL_MAX_BYTES',
    default: 16 * 1024,
    min: 1024,
    doc: 'largest signal body, in bytes',
  }),
  /** Clients chunk under it. `RELAY_MAX_BYTES` @default 49152 */
  relayMaxBytes: integer({
    env: 'RELAY_MAX_BYTES',
    default: 48 * 1024,
    min: 1024,
    doc: 'largest relay body, in bytes',
  }),
  /** Token bucket. `SEND_RATE_PER_S` @default 200 */
  sendRatePerSecond: integer({
    env: 'SEND_RATE_PER_S',
    default: 200,
    min: 1,
    doc: 'sustained frames per second one session may send',
  }),
  /** `SEND_BURST` @default 400 */
  sendBurst: integer({
    env: 'SEND_BURST',
    default: 400,
    min: 1,
    doc: 'frames one session may send in a burst',
  }),
  /**
   * A session sending faster than SEND_RATE_PER_S is throttled, not dropped: its transport stops
   * being read and the frames already read wait their turn. Past this much waiting it is closed
   * with THROTTLE_BACKLOG_EXCEEDED. `THROTTLE_MAX_BACKLOG_MS` @default 10000
   */
  throttleMaxBacklogMs: integer({
    env: 'THROTTLE_MAX_BACKLOG_MS',
    default: 10_000,
    min: 100,
    doc: "a throttled session's waiting frames, as time to work off at SEND_RATE_PER_S, in ms",
  }),
  /** `THROTTLE_MAX_BACKLOG_BYTES` @default 1048576 */
  throttleMaxBacklogBytes: integer({
    env: 'THROTTLE_MAX_BACKLOG_BYTES',
    default: 1024 * 1024,
    min: 64 * 1024,
    doc: "a throttled session's waiting frames, in bytes",
  }),
  /** `STUN_URLS` @default none */
  stunUrls: list({
    env: 'STUN_URLS',
    item: url(/^stuns?:/),
    doc: 'STUN URLs for the welcome, comma-separated',
  }),
  /** `TURN_URLS` @default none */
  turnUrls: list({
    env: 'TURN_URLS',
    item: url(/^turns?:/),
    doc: 'TURN URLs for the welcome, comma-separated (needs TURN_SECRET or TURN_USERNAME)',
  }),
  /** `TURN_SECRET` @default '' */
  turnSecret: text({
    env: 'TURN_SECRET',
    default: '',
    doc: "coturn's static-auth-secret, for TURN REST credentials",
  }),
  /** `TURN_TTL_S` @default 3600 */
  turnTtlSeconds: integer({
    env: 'TURN_TTL_S',
    default: 3600,
    min: 60,
    doc: 'lifetime of issued TURN credentials, in seconds',
  }),
  /** For TURN servers with long-term users instead of a shared secret. `TURN_USERNAME` @default '' */
  turnUsername: text({
    env: 'TURN_USERNAME',
    default: '',
    doc: 'static TURN username, instead of TURN_SECRET (with TURN_CREDENTIAL)',
  }),
  /** Given to every member. `TURN_CREDENTIAL` @default '' */
  turnCredential: text({
    env: 'TURN_CREDENTIAL',
    default: '',
    doc: 'static TURN password (with TURN_USERNAME)',
  }),
  /** A catch-all (static files under /), so a plugin inside someone's app serves it only when asked. `DEMO` @default true */
  demo: flag({
    env: 'DEMO',
    default: true,
    pluginDefault: false,
    doc: 'serve the demo app at GET / (as a plugin: false unless asked)',
  }),
  /** `DEMO_DIR` @default '' */
  demoDir: text({
    env: 'DEMO_DIR',
    default: '',
    doc: 'directory of a built demo app to serve; empty: the demo built into the package',
  }),
  /**
   * Several nodes share destinations and rooms through it (docs/protocol.md §11); empty runs the
   * embedded in-memory broker, which serves one node. While RabbitMQ is lost the node keeps its
   * sessions, refuses what it cannot forward with NOT_FORWARDED, refuses CONNECT and /healthz says
   * 503 until it is back. `BROKER_RELAY_URL` @default ''
   */
  brokerRelayUrl: text({
    env: 'BROKER_RELAY_URL',
    default: '',
    doc: "RabbitMQ's STOMP adapter to relay /topic and /queue to: stomp://login:passcode@host:61613; empty: embedded broker",
    check: relayUrl,
  }),
  /** The CONNECT `host` header. `BROKER_RELAY_VHOST` @default '/' */
  brokerRelayVhost: text({
    env: 'BROKER_RELAY_VHOST',
    default: '/',
    doc: 'RabbitMQ virtual host for the relay',
    check: nonEmpty,
  }),
  /**
   * Nodes on one RabbitMQ with the same name share rooms, through the stream `<name>.presence`.
   * `CLUSTER_NAME` @default 'stomprtc'
   */
  clusterName: text({
    env: 'CLUSTER_NAME',
    default: 'stomprtc',
    doc: 'nodes on one RabbitMQ with the same cluster name share rooms (stream <name>.presence)',
    check: clusterName,
  }),
  /** How often a node says it is alive on the presence stream, in ms. `CLUSTER_HEARTBEAT_MS` @default 2000 */
  clusterHeartbeatMs: integer({
    env: 'CLUSTER_HEARTBEAT_MS',
    default: 2_000,
    min: 100,
    doc: "ms between a node's heart-beats on the presence stream",
  }),
  /**
   * Silence after which the other nodes declare a node dead and its members gone, in ms: members
   * of a killed node leave every room within this plus two heart-beats. `CLUSTER_NODE_DOWN_MS` @default 8000
   */
  clusterNodeDownMs: integer({
    env: 'CLUSTER_NODE_DOWN_MS',
    default: 8_000,
    min: 300,
    doc: "ms of silence after which the other nodes drop a node's members",
  }),
};

/**
 * Shortest heart-beat interval the server will run (HEARTBEAT_MS is 0 or at least this): every
 * negotiated interval is at least HEARTBEAT_MS, so a client's `1,1` cannot make the server wake
 * every millisecond. 100 ms keeps short-interval tests possible; production wants seconds.
 */
const HEARTBEAT_MIN_MS = 100;
/**
 * Longest heart-beat interval the server runs or a CONNECT may name (one hour); a CONNECT naming a
 * longer one is refused with MALFORMED_FRAME. Node's timers overflow past 2^31-1 ms and then fire
 * every millisecond.
 */
export const HEARTBEAT_MAX_MS = 3_600_000;
/**
 * What one WebSocket batches before writing (transport/websocket.ts): frames sent in one turn of
 * the event loop go out in one write up to this many bytes. Small frames (a fan-out's 200 B
 * MESSAGEs) share a syscall; big ones still stream while the peer reads. Below the 64 KiB floor of
 * OUTBOUND_BUFFER_BYTES, so a batch alone never makes a session look like a slow consumer.
 */
export const CORK_FLUSH_BYTES = 16 * 1024;

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;

/** The validated, frozen configuration; each field is documented in SETTINGS. */
export type Config = { readonly [K in keyof Settings]: ValueOf<Settings[K]> };

type StandaloneKey = {
  [K in keyof Settings]: Settings[K] extends { standaloneOnly: true } ? K : never;
}[keyof Settings];

/**
 * Options of the Fastify plugin (`stomprtc/server`): every setting except where to listen and
 * the log level, which belong to the user's own app; camelCase names, same defaults and bounds.
 */
export type StompRtcOptions = { -readonly [K in Exclude<keyof Settings, StandaloneKey>]?: ValueOf<Settings[K]> };

export type Env = Readonly<Record<string, string | undefined>>;

const KEYS = Object.keys(SETTINGS) as Array<keyof Settings>;

function setting(key: keyof Settings): Setting<unknown> {
  return SETTINGS[key];
}

/** Checks between settings, naming each setting the way its source does (env name or option name). */
function crossCheck(config: Config, name: (key: keyof Settings) => string): Config {
  if (config.maxConnectFrameBytes > config.maxFrameBytes) {
    throw new ConfigError(`${name('maxConnectFrameBytes')} must not exceed ${name('maxFrameBytes')}`);
  }
  if (config.heartbeatMs !== 0 && (config.heartbeatMs < HEARTBEAT_MIN_MS || config.heartbeatMs > HEARTBEAT_MAX_MS)) {
    throw new ConfigError(
      `${name('heartbeatMs')} must be 0 or between ${HEARTBEAT_MIN_MS} and ${HEARTBEAT_MAX_MS}, ` +
        `got ${config.heartbeatMs}`,
    );
  }
  if (config.relayMaxBytes + config.maxHeaderLineBytes > config.maxFrameBytes) {
    throw new ConfigError(
      `${name('relayMaxBytes')} plus room for headers (${name('maxHeaderLineBytes')}) must fit in ${name('maxFrameBytes')}`,
    );
  }
  if (config.turnUrls.length > 0 && !config.turnSecret && !config.turnUsername) {
    throw new ConfigError(
      `${name('turnUrls')} is set but neither ${name('turnSecret')} nor ${name('turnUsername')}/${name('turnCredential')}: ` +
        'TURN credentials cannot be issued',
    );
  }
  if (Boolean(config.turnUsername) !== Boolean(config.turnCredential)) {
    throw new ConfigError(`${name('turnUsername')} and ${name('turnCredential')} go together`);
  }
  if (config.turnSecret && config.turnUsername) {
    throw new ConfigError(
      `set ${name('turnSecret')} (coturn REST credentials) or ${name('turnUsername')}/${name('turnCredential')} (static), not both`,
    );
  }
  const keySources = (['authJwtSecret', 'authJwtPublicKey', 'authJwksUrl'] as const)
    .filter((key) => config[key] !== '')
    .map(name);
  if (keySources.length > 1) throw new ConfigError(`set one JWT key source, not ${keySources.join(' and ')}`);
  if (config.maxSessionsPerUser > 0 && keySources.length === 0) {
    throw new ConfigError(
      `${name('maxSessionsPerUser')} needs JWT auth (${name('authJwtSecret')}, ${name('authJwtPublicKey')} or ` +
        `${name('authJwksUrl')}): without it there is no user`,
    );
  }
  if (config.clusterNodeDownMs < 2 * config.clusterHeartbeatMs) {
    throw new ConfigError(
      `${name('clusterNodeDownMs')} must be at least twice ${name('clusterHeartbeatMs')}, or one late heart-beat kills a live node`,
    );
  }
  const paths = [config.wsPath, config.sockjsPath, config.healthPath, config.metricsPath];
  if (new Set(paths).size !== paths.length) {
    throw new ConfigError(
      `${name('wsPath')}, ${name('sockjsPath')}, ${name('healthPath')} and ${name('metricsPath')} must differ`,
    );
  }
  return Object.freeze(config);
}

/** Reads, validates and freezes the configuration. The only reader of environment variables is main.ts, which passes them here. */
export function loadConfig(env: Env = {}): Config {
  const config: Record<string, unknown> = {};
  for (const key of KEYS) {
    const { env: name, default: fallback, fromText } = setting(key);
    const raw = env[name];
    // An empty variable counts as unset.
    config[key] = raw === undefined || raw.trim() === '' ? fallback : fromText(raw, name);
  }
  return crossCheck(config as Config, (key) => SETTINGS[key].env);
}

/** Fastify's own register options, which it passes to every plugin along with ours. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers']);

/** Validates and freezes the plugin's options: the same settings, defaults and checks as `loadConfig`, named in camelCase. */
export function configFromOptions(options: Readonly<Record<string, unknown>> = {}): Config {
  for (const key of Object.keys(options)) {
    if (REGISTER_OPTIONS.has(key)) continue;
    if (!Object.hasOwn(SETTINGS, key)) throw new ConfigError(`stomprtc has no option "${key}"`);
    if (setting(key as keyof Settings).standaloneOnly && options[key] !== undefined) {
      throw new ConfigError(`stomprtc option "${key}" belongs to the standalone server: your own app listens and logs`);
    }
  }
  const config: Record<string, unknown> = {};
  for (const key of KEYS) {
    const { default: fallback, pluginDefault, fromValue, standaloneOnly: ownAppDecides } = setting(key);
    const value = ownAppDecides ? undefined : options[key];
    config[key] = value === undefined ? (pluginDefault ?? fallback) : fromValue(value, key);
  }
  return crossCheck(config as Config, (key) => key);
}

/** The settings as `--help` lists them: env name, default, meaning. */
export function describeSettings(): Array<{ env: string; option: string; shown: string; doc: string }> {
  return KEYS.map((key) => ({
    env: SETTINGS[key].env,
    option: key,
    shown: SETTINGS[key].shown,
    doc: SETTINGS[key].doc,
  }));
}

/** Made once per (frozen) config: every session's decoder shares them. */
const sharedDecoderLimits = new WeakMap<Config, readonly [DecoderLimits, DecoderLimits]>();

export function decoderLimits(config: Config, connected: boolean): DecoderLimits {
  let limits = sharedDecoderLimits.get(config);
  if (!limits) {
    const { maxFrameBytes, maxConnectFrameBytes, maxHeaders, maxHeaderLineBytes } = config;
    limits = [
      Object.freeze({ maxFrameBytes: maxConnectFrameBytes, maxHeaders, maxHeaderLineBytes }),
      Object.freeze({ maxFrameBytes, maxHeaders, maxHeaderLineBytes }),
    ];
    if (Object.isFrozen(config)) sharedDecoderLimits.set(config, limits);
  }
  return limits[connected ? 1 : 0];
}
