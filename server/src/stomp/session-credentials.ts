import type { JWTPayload } from 'jose';
import { StompRtcError } from '../../../shared/src/errors.js';
import type { Principal } from './authenticator.js';

/** setTimeout holds at most 2^31-1 ms (about 24.8 days); a later expiry is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Who hears of an expired token: the session itself, rather than a closure of it. */
export interface CredentialsOwner {
  tokenExpired(error: StompRtcError): void;
}

/**
 * Who a session is and until when: the principal from CONNECT, replaced by a refreshed token
 * (SEND /app/token) of the same user. When the token's `exp` passes without a refresh the session
 * hears TOKEN_EXPIRED (as Centrifugo and LiveKit close an expired connection).
 */
export class SessionCredentials {
  #principal: Principal | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #owner: CredentialsOwner;

  constructor(owner: CredentialsOwner) {
    this.#owner = owner;
  }

  get user(): string | undefined {
    return this.#principal?.user;
  }

  /** The token's claims; undefined when auth is off. */
  get claims(): Readonly<JWTPayload> | undefined {
    return this.#principal?.claims;
  }

  get expiresAt(): number | undefined {
    return this.#principal?.expiresAt;
  }

  /** The principal of CONNECT. */
  set(principal: Principal): void {
    this.#principal = principal;
    this.#arm();
  }

  /** A refreshed token: it must name the same user, or a session could change hands mid-stream. */
  refresh(principal: Principal): void {
    if (this.#principal === undefined)
      throw new StompRtcError('TOKEN_REFUSED', 'auth is off on this server: there is no token to refresh');
    if (principal.user !== this.#principal.user) {
      throw new StompRtcError(
        'TOKEN_REFUSED',
        `the new token is for "${principal.user}", this session is "${this.#principal.user}"; a refresh keeps the same sub`,
      );
    }
    this.set(principal);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  static #rearm(credentials: SessionCredentials): void {
    credentials.#arm();
  }

  #arm(): void {
    this.stop();
    const expiresAt = this.#principal?.expiresAt;
    if (expiresAt === undefined) return;
    const delay = expiresAt - Date.now();
    if (delay <= 0)
      return this.#owner.tokenExpired(
        new StompRtcError('TOKEN_EXPIRED', "the session's token expired; refresh it before exp with SEND /app/token"),
      );
    // The timer's argument, not a closure: with auth on, every session holds this timer.
    this.#timer = setTimeout(SessionCredentials.#rearm, Math.min(delay, MAX_TIMER_MS), this);
    this.#timer.unref();
  }
}
