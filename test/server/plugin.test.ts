/**
 * The server as a Fastify plugin inside a user's own app (`stomprtc/server`): options validated
 * like the environment, the endpoints added where the options say, the app's own routes, hooks
 * and handlers left alone, and the demo's catch-all only when asked for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import stomprtc, { ConfigError, configFromOptions, loadConfig } from '../../server/src/plugin.js';
import { rawStomp, text, wire } from '../helpers/server.js';

function refusal(options: Record<string, unknown>): string {
  try {
    configFromOptions(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`configFromOptions accepted ${JSON.stringify(options)}`);
}

describe('configFromOptions', () => {
  it('has the environment defaults, but no demo', () => {
    expect(configFromOptions({})).toEqual({ ...loadConfig({}), demo: false });
  });

  it('takes every setting under its camelCase name', () => {
    const config = configFromOptions({
      maxFrameBytes: 131072,
      stunUrls: ['stun:a.test'],
      wsPath: '/rtc/ws',
      demo: true,
      demoDir: '/srv/demo',
    });
    expect(config).toMatchObject({
      maxFrameBytes: 131072,
      stunUrls: ['stun:a.test'],
      wsPath: '/rtc/ws',
      demo: true,
      demoDir: '/srv/demo',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ maxFrameBytes: 1023 }, /^maxFrameBytes must be between 1024 and \d+, got 1023$/],
    [{ maxFrameBytes: '65536' }, /^maxFrameBytes must be a whole number, got "65536"$/],
    [{ maxRoomMembers: 2.5 }, /^maxRoomMembers must be a whole number, got 2.5$/],
    [{ maxRoomMembers: 1001 }, /^maxRoomMembers must be between 2 and 1000, got 1001$/],
    [{ stunUrls: 'stun:a.test' }, /^stunUrls must be an array of strings, got "stun:a.test"$/],
    [{ turnUrls: ['stun:t.test'], turnSecret: 's' }, /^turnUrls: "stun:t.test" is not a/],
    [{ turnUrls: ['turn:t.test'] }, /^turnUrls is set but neither turnSecret nor turnUsername\/turnCredential/],
    [{ turnUsername: 'u' }, /^turnUsername and turnCredential go together$/],
    [{ authJwtSecret: 's', authJwksUrl: 'https://idp.test/jwks' }, /^set one JWT key source, not authJwtSecret and/],
    [{ maxSessionsPerUser: 2 }, /^maxSessionsPerUser needs JWT auth \(authJwtSecret, authJwtPublicKey or authJwksUrl/],
    [{ allowedOrigins: ['https://app.test/path'] }, /^allowedOrigins: "https:\/\/app.test\/path" is not an/],
    [{ maxConnectFrameBytes: 70000 }, /^maxConnectFrameBytes must not exceed maxFrameBytes$/],
    [{ brokerRelayUrl: 'amqp://rabbit' }, /^brokerRelayUrl: "amqp:\/\/rabbit" must be stomp:\/\//],
    [{ wsPath: '/ws/' }, /^wsPath must be a path like \/ws/],
    [{ healthPath: '/metrics' }, /^wsPath, sockjsPath, healthPath and metricsPath must differ$/],
    [{ demo: 'yes' }, /^demo must be true or false, got "yes"$/],
    [{ maxFrameByte: 65536 }, /^stomprtc has no option "maxFrameByte"$/],
    [{ port: 8080 }, /^stomprtc option "port" belongs to the standalone server/],
    [{ host: '0.0.0.0' }, /^stomprtc option "host" belongs to the standalone server/],
  ])('refuses %j with a message naming the option', (options, message) => {
    expect(refusal(options)).toMatch(message);
  });

  it('lets Fastify keep its own register options', () => {
    expect(configFromOptions({ prefix: '/x', logLevel: 'warn' }).wsPath).toBe('/ws');
  });
});

describe('the stomprtc plugin in a user app', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function listen(instance: FastifyInstance): Promise<string> {
    await instance.listen({ port: 0, host: '127.0.0.1' });
    return `127.0.0.1:${(instance.server.address() as AddressInfo).port}`;
  }

  it('adds the STOMP endpoints and leaves the app its routes, hooks and handlers', async () => {
    app = Fastify();
    const hooked: string[] = [];
    app.addHook('onRequest', async (request) => {
      hooked.push(request.url);
    });
    app.get('/', async () => 'user home');
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.setErrorHandler(async (_err, _request, reply) => reply.code(500).send('user error handler'));
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send('user not found'));
    await app.register(stomprtc, { maxRoomMembers: 4 });
    const host = await listen(app);

    expect(await (await fetch(`http://${host}/`)).text()).toBe('user home');
    expect(await (await fetch(`http://${host}/boom`)).text()).toBe('user error handler');
    expect(await (await fetch(`http://${host}/nothing/here`)).text()).toBe('user not found');
    const health = await fetch(`http://${host}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', sessions: 0 });
    expect(await (await fetch(`http://${host}/metrics`)).text()).toContain('stomprtc_sessions');
    expect(hooked).toContain('/healthz');
    expect(app.hasDecorator('stomprtc')).toBe(false);

    const raw = await rawStomp(`ws://${host}/ws`);
    const connected = await raw.connect();
    expect(connected.command).toBe('CONNECTED');
    raw.close();
    const info = await fetch(`http://${host}/sockjs/info`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ websocket: true });
  });

  it('puts each endpoint where the options say', async () => {
    app = Fastify();
    await app.register(stomprtc, {
      wsPath: '/rtc/ws',
      sockjsPath: '/rtc/sockjs',
      healthPath: '/rtc/health',
      metricsPath: '/rtc/metrics',
    });
    const host = await listen(app);
    expect((await fetch(`http://${host}/rtc/health`)).status).toBe(200);
    expect((await fetch(`http://${host}/rtc/metrics`)).status).toBe(200);
    expect((await fetch(`http://${host}/rtc/sockjs/info`)).status).toBe(200);
    expect((await fetch(`http://${host}/healthz`)).status).toBe(404);
    const raw = await rawStomp(`ws://${host}/rtc/ws`);
    expect((await raw.connect()).command).toBe('CONNECTED');
    raw.close();
  });

  it('serves the demo at / only when asked', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'stomprtc-demo-'));
    writeFileSync(join(demoDir, 'index.html'), '<title>demo</title>');
    try {
      app = Fastify();
      await app.register(stomprtc, { demoDir });
      let host = await listen(app);
      expect((await fetch(`http://${host}/`)).status).toBe(404);
      await app.close();

      app = Fastify();
      await app.register(stomprtc, { demo: true, demoDir });
      host = await listen(app);
      expect(await (await fetch(`http://${host}/`)).text()).toBe('<title>demo</title>');
    } finally {
      rmSync(demoDir, { recursive: true });
    }
  });

  it('uses an @fastify/websocket the app registered itself', async () => {
    app = Fastify();
    await app.register(websocket);
    app.get('/own', { websocket: true }, (socket) => socket.send('own socket'));
    await app.register(stomprtc);
    const host = await listen(app);
    const raw = await rawStomp(`ws://${host}/ws`);
    expect((await raw.connect()).command).toBe('CONNECTED');
    raw.close();
    const own = new WebSocket(`ws://${host}/own`);
    expect(String(await new Promise((resolve) => own.once('message', resolve)))).toBe('own socket');
    own.close();
  });

  it('drains its sessions when the app closes: ERROR SERVER_SHUTTING_DOWN, then the socket closes', async () => {
    app = Fastify();
    await app.register(stomprtc);
    const host = await listen(app);
    const raw = await rawStomp(`ws://${host}/ws`);
    await raw.connect();
    const closing = app.close();
    const error = await raw.nextFrame();
    expect(error.command).toBe('ERROR');
    expect(error.headers.code).toBe('SERVER_SHUTTING_DOWN');
    await raw.waitForClose();
    await closing;
    app = undefined;
  });

  it('takes the authorize and iceServers hooks as options', async () => {
    app = Fastify();
    await app.register(stomprtc, {
      authorize: ({ room }) => room !== 'closed',
      iceServers: ({ room }) => [{ urls: `stun:${room}.test` }],
    });
    const raw = await rawStomp(`ws://${await listen(app)}/ws`);
    await raw.connect();
    raw.send(
      wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors' }) +
        wire('SUBSCRIBE', { id: 'open', destination: '/topic/room/open' }) +
        wire('SUBSCRIBE', { id: 'closed', destination: '/topic/room/closed' }),
    );
    const [welcome, , refused] = await raw.frames.take(3);
    expect(JSON.parse(text(welcome!))).toMatchObject({ type: 'welcome', iceServers: [{ urls: 'stun:open.test' }] });
    expect(JSON.parse(text(refused!))).toMatchObject({ code: 'FORBIDDEN' });
    raw.close();
  });

  it('refuses a hook that is not a function, and the standalone logStream', async () => {
    app = Fastify();
    await expect(app.register(stomprtc, { authorize: true } as never)).rejects.toThrow(
      'stomprtc option "authorize" must be a function, got true',
    );
    app = Fastify();
    await expect(app.register(stomprtc, { logStream: process.stdout } as never)).rejects.toThrow(
      'stomprtc has no option "logStream"',
    );
  });

  it('fails the app start with the option named in the message', async () => {
    app = Fastify();
    await expect(app.register(stomprtc, { maxRoomMembers: 1 })).rejects.toThrow(
      'maxRoomMembers must be between 2 and 1000, got 1',
    );
  });
});
