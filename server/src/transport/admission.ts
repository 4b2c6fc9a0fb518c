import type { IncomingHttpHeaders } from 'node:http';
import { StompRtcError } from '../../../shared/src/errors.js';
import { frame } from '../../../shared/src/stomp/frame.js';
import { encodeFrame } from '../../../shared/src/stomp/frame-encoder.js';
import type { Config } from '../config.js';
import type { Connection } from './connection.js';

export type AdmissionConfig = Pick<Config, 'allowedOrigins' | 'maxConnectionsPerIp' | 'trustProxyHops'>;

/** An HTTP answer given instead of the upgrade or the SockJS handshake. */
export interface HttpRefusal {
  readonly status: 403 | 429;
  readonly message: string;
}

/**
 * Who may open /ws and /sockjs: pages of allowed origins only (a browser always sends `Origin`
 * on a cross-origin request and on every WebSocket handshake, so a foreign page is refused before
 * the upgrade), and at most MAX_CONNECTIONS_PER_IP open connections per client address.
 */
export class Admission {
  readonly #config: AdmissionConfig;
  readonly #allowed: ReadonlySet<string>;
  /** Open connections by client address. */
  readonly #open = new Map<string, number>();

  constructor(config: AdmissionConfig) {
    this.#config = config;
    this.#allowed = new Set(config.allowedOrigins);
  }

  /**
   * The client's address: the socket's, or with TRUST_PROXY=n the address n hops from the right of
   * X-Forwarded-For (what the nearest trusted proxy saw); entries further left are the client's own word.
   */
  clientAddress(socketAddress: string, headers: IncomingHttpHeaders | Record<string, string | undefined>): string {
    const hops = this.#config.trustProxyHops;
    const forwarded = headers['x-forwarded-for'];
    if (hops === 0 || !forwarded) return socketAddress;
    const chain = [
      ...String(forwarded)
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
      socketAddress,
    ];
    return chain[Math.max(0, chain.length - 1 - hops)]!;
  }

  /**
   * A refusal for a page of a foreign origin. Requests without `Origin` come from non-browser
   * clients, which could send any value anyway; the server's own origin (its demo page) is allowed.
   */
  originRefusal(origin: string | undefined, host: string | undefined): HttpRefusal | undefined {
    if (this.#allowed.size === 0 || origin === undefined || this.#allowed.has(origin)) return undefined;
    if (host !== undefined && URL.canParse(origin) && new URL(origin).host === host) return undefined;
    return { status: 403, message: `origin ${origin} may not open this endpoint (ALLOWED_ORIGINS)\n` };
  }

  /** Whether `address` is at its cap already, for a refusal before the upgrade. */
  full(address: string): HttpRefusal | undefined {
    const max = this.#config.maxConnectionsPerIp;
    if (max === 0 || (this.#open.get(address) ?? 0) < max) return undefined;
    return { status: 429, message: `${address} has ${max} open connections (MAX_CONNECTIONS_PER_IP)\n` };
  }

  /**
   * Counts `connection` against its address until release(); over the cap it gets ERROR
   * TOO_MANY_CONNECTIONS and is closed (the path of SockJS, whose sessions span many requests,
   * and of WebSocket upgrades that raced past `full`). Returns whether it was admitted.
   */
  admit(connection: Connection): boolean {
    const address = connection.remoteAddress;
    const max = this.#config.maxConnectionsPerIp;
    const open = this.#open.get(address) ?? 0;
    if (max > 0 && open >= max) {
      const error = new StompRtcError(
        'TOO_MANY_CONNECTIONS',
        `${address} has ${max} open connections (MAX_CONNECTIONS_PER_IP)`,
      );
      const headers = { code: error.code, message: error.message, 'content-type': 'text/plain' };
      connection.send(encodeFrame(frame('ERROR', headers, `${error.code}: ${error.message}\n`), '1.2'), true);
      connection.close();
      return false;
    }
    this.#open.set(address, open + 1);
    return true;
  }

  /** An admitted connection has closed (its socket, not just its session: a closing one still counts). */
  release(connection: Connection): void {
    const address = connection.remoteAddress;
    const left = (this.#open.get(address) ?? 1) - 1;
    if (left === 0) this.#open.delete(address);
    else this.#open.set(address, left);
  }
}
