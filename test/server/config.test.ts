/** loadConfig: documented defaults, clear messages for bad values, a frozen result. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, SETTINGS, decoderLimits, describeSettings, loadConfig } from '../../server/src/config.js';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      wsPath: '/ws',
      sockjsPath: '/sockjs',
      healthPath: '/healthz',
      metricsPath: '/metrics',
      maxFrameBytes: 65536,
      maxConnectFrameBytes: 8192,
      maxHeaders: 64,
      maxHeaderLineBytes: 8192,
      connectTimeoutMs: 10_000,
      maxSubscriptionsPerSession: 100,
      maxTransactionsPerSession: 16,
      maxFramesPerTransaction: 1000,
      maxUnackedPerSubscription: 1000,
      maxQueueDepth: 10_000,
      maxQueuedBytes: 67_108_864,
      maxQueuedBytesPerSession: 8_388_608,
      outboundBufferBytes: 1_048_576,
      heartbeatMs: 10_000,
      heartbeatGraceMs: 5_000,
      sockjsMaxRequestBytes: 131_072,
      shutdownGraceMs: 5_000,
      authJwtSecret: '',
      authJwtPublicKey: '',
      authJwksUrl: '',
      authJwksCooldownMs: 30_000,
      authJwksMaxAgeMs: 600_000,
      authJwtIssuer: '',
      authJwtAudience: [],
      authClockToleranceSeconds: 5,
      maxSessionsPerUser: 0,
      allowedOrigins: [],
      maxConnectionsPerIp: 0,
      trustProxyHops: 0,
      maxRoomMembers: 8,
      maxRoomsPerSession: 8,
      signalMaxBytes: 16_384,
      relayMaxBytes: 49_152,
      sendRatePerSecond: 200,
      sendBurst: 400,
      throttleMaxBacklogMs: 10_000,
      throttleMaxBacklogBytes: 1_048_576,
      stunUrls: [],
      turnUrls: [],
      turnSecret: '',
      turnTtlSeconds: 3600,
      turnUsername: '',
      turnCredential: '',
      demo: true,
      demoDir: '',
      brokerRelayUrl: '',
      brokerRelayVhost: '/',
      clusterName: 'stomprtc',
      clusterHeartbeatMs: 2_000,
      clusterNodeDownMs: 8_000,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', MAX_FRAME_BYTES: '' }).port).toBe(8080);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MAX_FRAME_BYTES: '131072',
      HEARTBEAT_MS: '0',
      STUN_URLS: 'stun:a.test:3478, stuns:b.test',
      TURN_URLS: 'turn:t.test',
      TURN_SECRET: 's',
      TURN_TTL_S: '60',
      BROKER_RELAY_URL: 'stomp://guest:guest@rabbit.test:61613',
      BROKER_RELAY_VHOST: 'stomprtc',
      CLUSTER_NAME: 'chat.eu-1',
      CLUSTER_HEARTBEAT_MS: '500',
      CLUSTER_NODE_DOWN_MS: '3000',
      WS_PATH: '/stomp/ws',
      SOCKJS_PATH: '/stomp/sockjs',
      HEALTH_PATH: '/live',
      METRICS_PATH: '/prom',
      DEMO: 'false',
      DEMO_DIR: '/srv/demo',
      AUTH_JWKS_URL: 'https://idp.test/.well-known/jwks.json',
      AUTH_JWKS_COOLDOWN_MS: '1000',
      AUTH_JWKS_MAX_AGE_MS: '60000',
      AUTH_JWT_ISSUER: 'https://idp.test/',
      AUTH_JWT_AUDIENCE: 'stomprtc, other',
      AUTH_CLOCK_TOLERANCE_S: '0',
      MAX_SESSIONS_PER_USER: '3',
      ALLOWED_ORIGINS: 'https://app.test, http://localhost:5173',
      MAX_CONNECTIONS_PER_IP: '20',
      TRUST_PROXY: '1',
    });
    expect(config).toMatchObject({
      wsPath: '/stomp/ws',
      sockjsPath: '/stomp/sockjs',
      healthPath: '/live',
      metricsPath: '/prom',
      demo: false,
      demoDir: '/srv/demo',
      port: 0,
      host: '127.0.0.1',
      logLevel: 'warn',
      maxFrameBytes: 131072,
      heartbeatMs: 0,
      stunUrls: ['stun:a.test:3478', 'stuns:b.test'],
      turnUrls: ['turn:t.test'],
      turnSecret: 's',
      turnTtlSeconds: 60,
      brokerRelayUrl: 'stomp://guest:guest@rabbit.test:61613',
      brokerRelayVhost: 'stomprtc',
      clusterName: 'chat.eu-1',
      clusterHeartbeatMs: 500,
      clusterNodeDownMs: 3000,
      authJwksUrl: 'https://idp.test/.well-known/jwks.json',
      authJwksCooldownMs: 1000,
      authJwksMaxAgeMs: 60_000,
      authJwtIssuer: 'https://idp.test/',
      authJwtAudience: ['stomprtc', 'other'],
      authClockToleranceSeconds: 0,
      maxSessionsPerUser: 3,
      allowedOrigins: ['https://app.test', 'http://localhost:5173'],
      maxConnectionsPerIp: 20,
      trustProxyHops: 1,
    });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number, got "eighty"/],
    [{ HEARTBEAT_MS: '99' }, /HEARTBEAT_MS must be 0 or between 100 and 3600000, got 99/],
    [{ HEARTBEAT_MS: '3600001' }, /HEARTBEAT_MS must be 0 or between 100 and 3600000, got 3600001/],
    [{ PORT: '-1' }, /PORT must be a whole number/],
    [{ PORT: '1.5' }, /PORT must be a whole number/],
    [{ PORT: '65536' }, /PORT must be between 0 and 65535, got 65536/],
    [{ MAX_FRAME_BYTES: '1023' }, /MAX_FRAME_BYTES must be between 1024/],
    [{ MAX_HEADERS: '7' }, /MAX_HEADERS must be between 8/],
    [{ CONNECT_TIMEOUT_MS: '99' }, /CONNECT_TIMEOUT_MS must be between 100/],
    [{ OUTBOUND_BUFFER_BYTES: '1000' }, /OUTBOUND_BUFFER_BYTES must be between 65536/],
    [{ MAX_ROOM_MEMBERS: '1' }, /MAX_ROOM_MEMBERS must be between 2 and 1000/],
    [{ MAX_ROOM_MEMBERS: '1001' }, /MAX_ROOM_MEMBERS must be between 2 and 1000/],
    [{ TURN_TTL_S: '59' }, /TURN_TTL_S must be between 60/],
    [{ STUN_URLS: 'http://stun.test' }, /STUN_URLS: "http:\/\/stun.test" is not a/],
    [{ TURN_URLS: 'stun:t.test', TURN_SECRET: 's' }, /TURN_URLS: "stun:t.test" is not a/],
    [{ TURN_URLS: 'turn:t.test' }, /TURN_URLS is set but neither TURN_SECRET nor TURN_USERNAME\/TURN_CREDENTIAL/],
    [{ TURN_USERNAME: 'u' }, /TURN_USERNAME and TURN_CREDENTIAL go together/],
    [
      { TURN_SECRET: 's', TURN_USERNAME: 'u', TURN_CREDENTIAL: 'c' },
      /set TURN_SECRET .* or TURN_USERNAME\/TURN_CREDENTIAL .*, not both/,
    ],
    [
      { AUTH_JWT_SECRET: 's', AUTH_JWKS_URL: 'https://idp.test/jwks' },
      /set one JWT key source, not AUTH_JWT_SECRET and AUTH_JWKS_URL/,
    ],
    [{ AUTH_JWKS_URL: 'ftp://idp.test/jwks' }, /AUTH_JWKS_URL: "ftp:\/\/idp.test\/jwks" is not an http\(s\) URL/],
    [
      { AUTH_JWT_PUBLIC_KEY: '/nonexistent/key.pem' },
      /AUTH_JWT_PUBLIC_KEY: "\/nonexistent\/key.pem" is neither PEM text nor a readable file \(ENOENT\)/,
    ],
    [
      { AUTH_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----' },
      /AUTH_JWT_PUBLIC_KEY: not a PEM public key/,
    ],
    [{ AUTH_CLOCK_TOLERANCE_S: '301' }, /AUTH_CLOCK_TOLERANCE_S must be between 0 and 300/],
    [{ MAX_SESSIONS_PER_USER: '2' }, /MAX_SESSIONS_PER_USER needs JWT auth/],
    [{ ALLOWED_ORIGINS: 'https://app.test/path' }, /ALLOWED_ORIGINS: "https:\/\/app.test\/path" is not an origin/],
    [{ ALLOWED_ORIGINS: 'app.test' }, /ALLOWED_ORIGINS: "app.test" is not a/],
    [{ TRUST_PROXY: '17' }, /TRUST_PROXY must be between 0 and 16/],
    [{ MAX_CONNECT_FRAME_BYTES: '70000' }, /MAX_CONNECT_FRAME_BYTES must not exceed MAX_FRAME_BYTES/],
    [{ MAX_FRAME_BYTES: '4096', MAX_CONNECT_FRAME_BYTES: '1024' }, /RELAY_MAX_BYTES plus room for headers/],
    [
      { BROKER_RELAY_URL: 'amqp://guest:guest@127.0.0.1:5672' },
      /BROKER_RELAY_URL: "amqp:.*" must be stomp:\/\/login:passcode@host:port/,
    ],
    [{ BROKER_RELAY_URL: 'rabbit:61613' }, /BROKER_RELAY_URL: "rabbit:61613" must be stomp:\/\//],
    [{ BROKER_RELAY_URL: 'not a url' }, /BROKER_RELAY_URL: "not a url" is not a URL/],
    [{ CLUSTER_NAME: 'a/b' }, /CLUSTER_NAME: "a\/b" must be 1-200 letters, digits/],
    [{ CLUSTER_NAME: 'amq.x' }, /CLUSTER_NAME: "amq.x" must be .* not starting with "amq."/],
    [
      { CLUSTER_HEARTBEAT_MS: '2000', CLUSTER_NODE_DOWN_MS: '3000' },
      /CLUSTER_NODE_DOWN_MS must be at least twice CLUSTER_HEARTBEAT_MS/,
    ],
    [{ WS_PATH: 'ws' }, /WS_PATH must be a path like \/ws .*got "ws"/],
    [{ SOCKJS_PATH: '/sockjs/' }, /SOCKJS_PATH must be a path like \/ws/],
    [{ METRICS_PATH: '/healthz' }, /WS_PATH, SOCKJS_PATH, HEALTH_PATH and METRICS_PATH must differ/],
    [{ DEMO: 'yes' }, /DEMO must be true or false, got "yes"/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(refusal(env)).toMatch(message);
  });

  it('gives the decoder the smaller frame limit before CONNECT', () => {
    const config = loadConfig({});
    expect(decoderLimits(config, false)).toEqual({ maxFrameBytes: 8192, maxHeaders: 64, maxHeaderLineBytes: 8192 });
    expect(decoderLimits(config, true)).toEqual({ maxFrameBytes: 65536, maxHeaders: 64, maxHeaderLineBytes: 8192 });
  });
});

describe('the settings table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Protocol summary'));

  it.each(describeSettings())('README lists $env with its plugin option $option', ({ env, option }) => {
    const row = table.split('\n').find((line) => line.startsWith('|') && line.includes(`\`${env}\``));
    expect(row, `no README row for ${env}`).toBeDefined();
    if (!(SETTINGS[option as keyof typeof SETTINGS] as { standaloneOnly?: boolean }).standaloneOnly)
      expect(row).toContain(`\`${option}\``);
  });

  it('gives --help a meaning and a default for every variable', () => {
    for (const { env, doc, shown } of describeSettings()) {
      expect(env).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(doc.length, env).toBeGreaterThan(5);
      expect(shown, env).not.toBe('');
    }
  });
});
