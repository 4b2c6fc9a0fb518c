import { createHmac } from 'node:crypto';
import type { IceServer } from '../../../shared/src/signaling/messages.js';
import type { Config } from '../config.js';

/**
 * TURN REST API credentials, as coturn's `use-auth-secret` checks them: the username is
 * `<expiry unix time>:<peerId>` and the password base64(HMAC-SHA1(static-auth-secret, username)).
 */
export function turnCredentials(secret: string, peerId: string, ttlSeconds: number, nowMs = Date.now()): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${peerId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** The welcome's iceServers: configured STUN and TURN only, never a third party's server by default. */
export function iceServersFor(config: Config, peerId: string): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0) {
    servers.push({ urls: [...config.turnUrls], ...turnCredentials(config.turnSecret, peerId, config.turnTtlSeconds) });
  }
  return servers;
}
