/** loadConfig: documented defaults, clear messages for bad values, a frozen result. */
import { describe, expect, it } from 'vitest';
import { ConfigError, decoderLimits, loadConfig } from '../../server/src/config.js';

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
      outboundBufferBytes: 1_048_576,
      heartbeatMs: 10_000,
      heartbeatGraceMs: 5_000,
      sockjsMaxRequestBytes: 131_072,
      shutdownGraceMs: 5_000,
      authJwtSecret: '',
      maxRoomMembers: 8,
      maxRoomsPerSession: 8,
      signalMaxBytes: 16_384,
      relayMaxBytes: 49_152,
      sendRatePerSecond: 200,
      sendBurst: 400,
      stunUrls: [],
      turnUrls: [],
      turnSecret: '',
      turnTtlSeconds: 3600,
      demoDir: 'dist/demo',
      brokerRelayUrl: '',
      brokerRelayVhost: '/',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', MAX_FRAME_BYTES: '' }).port).toBe(8080);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', MAX_FRAME_BYTES: '131072', HEARTBEAT_MS: '0',
      STUN_URLS: 'stun:a.test:3478, stuns:b.test', TURN_URLS: 'turn:t.test', TURN_SECRET: 's', TURN_TTL_S: '60',
      BROKER_RELAY_URL: 'stomp://guest:guest@rabbit.test:61613', BROKER_RELAY_VHOST: 'stomprtc',
    });
    expect(config).toMatchObject({
      port: 0, host: '127.0.0.1', logLevel: 'warn', maxFrameBytes: 131072, heartbeatMs: 0,
      stunUrls: ['stun:a.test:3478', 'stuns:b.test'], turnUrls: ['turn:t.test'], turnSecret: 's', turnTtlSeconds: 60,
      brokerRelayUrl: 'stomp://guest:guest@rabbit.test:61613', brokerRelayVhost: 'stomprtc',
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
    [{ TURN_URLS: 'turn:t.test' }, /TURN_URLS is set but TURN_SECRET is empty/],
    [{ MAX_CONNECT_FRAME_BYTES: '70000' }, /MAX_CONNECT_FRAME_BYTES must not exceed MAX_FRAME_BYTES/],
    [{ MAX_FRAME_BYTES: '4096', MAX_CONNECT_FRAME_BYTES: '1024' }, /RELAY_MAX_BYTES plus room for headers/],
    [{ BROKER_RELAY_URL: 'amqp://guest:guest@127.0.0.1:5672' }, /BROKER_RELAY_URL: "amqp:.*" must be stomp:\/\/login:passcode@host:port/],
    [{ BROKER_RELAY_URL: 'rabbit:61613' }, /BROKER_RELAY_URL: "rabbit:61613" must be stomp:\/\//],
    [{ BROKER_RELAY_URL: 'not a url' }, /BROKER_RELAY_URL: "not a url" is not a URL/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(refusal(env)).toMatch(message);
  });

  it('gives the decoder the smaller frame limit before CONNECT', () => {
    const config = loadConfig({});
    expect(decoderLimits(config, false)).toEqual({ maxFrameBytes: 8192, maxHeaders: 64, maxHeaderLineBytes: 8192 });
    expect(decoderLimits(config, true)).toEqual({ maxFrameBytes: 65536, maxHeaders: 64, maxHeaderLineBytes: 8192 });
  });
});
