import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { IceServer } from '../../../shared/src/signaling/messages.js';
import type { Config } from '../config.js';

/**
 * TURN REST API credentials, as coturn's `use-auth-secret` checks them: the username is
 * `<expiry unix time>:<peerId>` and the password base64(HMAC-SHA1(static-auth-secret, username)).
 */
function turnCredentials(
  secret: string,
  peerId: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${peerId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/**
 * The welcome's iceServers from the settings: configured STUN, and TURN with coturn REST
 * credentials (TURN_SECRET) or a static user (TURN_USERNAME/TURN_CREDENTIAL); never a third
 * party's server by default.
 */
function iceServersFor(config: Config, peerId: string): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0 && config.turnSecret) {
    servers.push({ urls: [...config.turnUrls], ...turnCredentials(config.turnSecret, peerId, config.turnTtlSeconds) });
  } else if (config.turnUrls.length > 0) {
    servers.push({ urls: [...config.turnUrls], username: config.turnUsername, credential: config.turnCredential });
  }
  return servers;
}

export interface IceServersRequest {
  readonly sessionId: string;
  /** The JWT `sub`; undefined when auth is off. */
  readonly principal: string | undefined;
  readonly room: string;
}

/**
 * A TURN provider's REST API (Twilio, Cloudflare, Metered, …) as a plugin option: asked at each
 * join for the joiner's iceServers, which replace the settings' STUN and TURN in the welcome.
 */
export type IceServersHook = (request: IceServersRequest) => IceServer[] | Promise<IceServer[]>;

/**
 * Where each welcome's iceServers come from. With a provider hook the servers are fetched before
 * the join takes effect (the access gate waits for `prepare`), so the welcome still goes out first.
 * A failing provider leaves the joiner with the configured STUN only; only its error's type is
 * logged, since the message may hold credentials.
 */
export class IceServerSource {
  readonly #config: Config;
  readonly #hook: IceServersHook | undefined;
  readonly #log: FastifyBaseLogger;
  /** Servers fetched for a join not yet welcomed, by session id. */
  readonly #prepared = new Map<string, IceServer[]>();

  constructor(config: Config, hook: IceServersHook | undefined, log: FastifyBaseLogger) {
    this.#config = config;
    this.#hook = hook;
    this.#log = log;
  }

  /** Undefined when nothing needs fetching. */
  prepare(request: IceServersRequest): void | Promise<void> {
    if (!this.#hook) return;
    const stunOnly = (err: unknown) => {
      // Only the error's type: a provider's message may quote the request, API key included. The hook can log its own.
      const errorType = (err as Error)?.name ?? typeof err;
      this.#log.warn(
        { session: request.sessionId, room: request.room, errorType },
        'TURN provider failed; the joiner gets STUN only',
      );
      return this.#config.stunUrls.length > 0 ? [{ urls: [...this.#config.stunUrls] }] : [];
    };
    let answer: IceServer[] | Promise<IceServer[]>;
    try {
      answer = this.#hook(request);
    } catch (err) {
      answer = stunOnly(err);
    }
    return Promise.resolve(answer)
      .then((servers) => servers, stunOnly)
      .then((servers) => {
        this.#prepared.set(request.sessionId, servers);
      });
  }

  forget(sessionId: string): void {
    this.#prepared.delete(sessionId);
  }

  /** The joiner's servers, for its welcome. */
  for(peerId: string): IceServer[] {
    const prepared = this.#prepared.get(peerId);
    if (!prepared) return iceServersFor(this.#config, peerId);
    this.#prepared.delete(peerId);
    return prepared;
  }
}
