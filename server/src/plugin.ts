/**
 * `stomprtc/server`: the server as a Fastify plugin for an app of your own.
 *
 *   import Fastify from 'fastify';
 *   import stomprtc from 'stomprtc/server';
 *
 *   const app = Fastify();
 *   await app.register(stomprtc, { maxRoomMembers: 4 });
 *   await app.listen({ port: 8080 });
 *
 * It adds `/ws`, `/sockjs`, `/healthz` and `/metrics` (wsPath, sockjsPath, healthPath, metricsPath)
 * and close hooks that drain the sessions; with `demo: true` also the demo app at `/` (a catch-all).
 * Besides the settings it takes `authorize` and `iceServers`, the same hooks `buildApp` takes.
 * It leaves the app's own routes, hooks and handlers alone and decorates nothing.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { stomprtcServer, type ServerHooks } from './app.js';
import { ConfigError, configFromOptions, type StompRtcOptions } from './config.js';

/** The settings in camelCase, and the code the app plugs in: `authorize` and `iceServers`. */
export type StompRtcPluginOptions = StompRtcOptions & ServerHooks;

const stomprtc = fp<StompRtcPluginOptions>(
  async (app: FastifyInstance, options) => {
    const { authorize, iceServers, ...settings } = options;
    // A bad option fails app.register (and so app.ready or listen) with the same ConfigError message the variable would get.
    const config = configFromOptions(settings);
    const hooks: ServerHooks = { authorize: hook(authorize, 'authorize'), iceServers: hook(iceServers, 'iceServers') };
    await app.register(stomprtcServer, { config, hooks });
  },
  { name: 'stomprtc', fastify: '5.x' },
);

function hook<F>(value: F | undefined, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new ConfigError(`stomprtc option "${name}" must be a function, got ${JSON.stringify(value)}`);
  }
  return value;
}

export default stomprtc;
export { stomprtc };
export { buildApp } from './app.js';
export type { AppHooks, ServerHooks } from './app.js';
export type { AccessRequest, AuthorizeHook } from './signaling/authorization.js';
export type { IceServersHook, IceServersRequest } from './signaling/turn-credentials.js';
export { ConfigError, configFromOptions, loadConfig } from './config.js';
export type { Config, Env, StompRtcOptions } from './config.js';
