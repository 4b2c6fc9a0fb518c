import type { Client } from '@stomp/stompjs';
import type { RoomErrorInfo } from './errors.js';

/** A JWT, or a callback that returns a fresh one (called at each connect and before each exp). */
export type TokenSource = string | (() => string | Promise<string>);

/** A token is refreshed this long before its exp, or at half its remaining life when that is sooner. */
const REFRESH_BEFORE_EXPIRY_MS = 30_000;
/** A refresh that got no RECEIPT (the server refused it: TOKEN_REFUSED) is tried again after this. */
const RETRY_MS = 5_000;
/** Refreshes are at least this far apart, so a callback that returns no newer token cannot make a loop. */
const MIN_DELAY_MS = 500;

/** Where the server takes a new token without a reconnect (docs/protocol.md §2). */
const TOKEN_DESTINATION = '/app/token';

/**
 * Keeps a session's token fresh: a new token in CONNECT at each (re)connect, and SEND /app/token
 * before the current one's `exp`, so the server never closes the session with TOKEN_EXPIRED while
 * the app can still get tokens. Only a callback can be refreshed; a fixed string is sent as is.
 */
export class TokenRefresh {
  readonly #source: TokenSource | undefined;
  readonly #onError: (err: RoomErrorInfo) => void;
  #current: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshes = 0;

  constructor(source: TokenSource | undefined, onError: (err: RoomErrorInfo) => void) {
    this.#source = source;
    this.#onError = onError;
  }

  /** CONNECT headers with a token fresh from the callback: `Authorization: Bearer` and `passcode`. */
  async connectHeaders(): Promise<Record<string, string>> {
    const token = await this.#fetch();
    return token ? { Authorization: `Bearer ${token}`, passcode: token } : {};
  }

  /** CONNECTED: plans the first refresh. */
  connected(client: Client): void {
    if (typeof this.#source === 'function' && this.#current) this.#plan(client, this.#current);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #plan(client: Client, token: string): void {
    this.stop();
    const exp = expiryMs(token);
    if (exp === undefined) return;
    const left = exp - Date.now();
    const delay = Math.max(MIN_DELAY_MS, Math.min(left - REFRESH_BEFORE_EXPIRY_MS, left / 2));
    this.#timer = setTimeout(() => void this.#refresh(client, exp), delay);
  }

  async #refresh(client: Client, currentExp: number): Promise<void> {
    const token = await this.#fetch();
    if (!token || !client.connected) return;
    // Until a RECEIPT says the server took a newer token, the old token's exp still counts: retry before it.
    const left = currentExp - Date.now();
    const retry = Math.max(MIN_DELAY_MS, Math.min(RETRY_MS, left / 2));
    this.#timer = setTimeout(() => void this.#refresh(client, currentExp), retry);
    if ((expiryMs(token) ?? Infinity) <= currentExp) return;
    const receipt = `token-${++this.#refreshes}`;
    client.watchForReceipt(receipt, () => this.#plan(client, token));
    client.publish({ destination: TOKEN_DESTINATION, body: token, headers: { receipt, 'content-type': 'text/plain' } });
  }

  async #fetch(): Promise<string | undefined> {
    if (typeof this.#source !== 'function') return (this.#current = this.#source);
    try {
      this.#current = await this.#source();
    } catch (err) {
      const why = (err as Error)?.message ?? String(err);
      this.#onError({ code: 'TOKEN_REFUSED', message: `the token callback failed: ${why}` });
    }
    return this.#current;
  }
}

/**
 * The `exp` of a JWT, read without verifying it (the server verifies); undefined if there is none.
 * @internal exported for test/client/token-refresh.test.ts
 */
export function expiryMs(token: string): number | undefined {
  try {
    const payload = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
