import { StompRtcError } from '../../../shared/src/errors.js';
import type { StompSession } from './stomp-session.js';

/** Live sessions by id: for shutdown, health and metrics; and by user, for MAX_SESSIONS_PER_USER. */
export class SessionRegistry {
  readonly #sessions = new Map<string, StompSession>();
  /** Authenticated sessions of each user (JWT `sub`). */
  readonly #byUser = new Map<string, Set<string>>();
  #emptied: (() => void) | undefined;

  add(session: StompSession): void {
    this.#sessions.set(session.sessionId, session);
  }

  /** Counts an authenticated session against its user's cap (0 = none); throws TOO_MANY_SESSIONS past it. */
  admit(session: StompSession, maxPerUser: number): void {
    const user = session.principal;
    if (user === undefined) return;
    let own = this.#byUser.get(user);
    if (maxPerUser > 0 && (own?.size ?? 0) >= maxPerUser) {
      throw new StompRtcError(
        'TOO_MANY_SESSIONS',
        `user "${user}" already has ${maxPerUser} sessions (MAX_SESSIONS_PER_USER); close one first`,
      );
    }
    if (!own) this.#byUser.set(user, (own = new Set()));
    own.add(session.sessionId);
  }

  remove(session: StompSession): void {
    const own = session.principal === undefined ? undefined : this.#byUser.get(session.principal);
    if (own?.delete(session.sessionId) && own.size === 0) this.#byUser.delete(session.principal!);
    this.#sessions.delete(session.sessionId);
    if (this.#sessions.size === 0) this.#emptied?.();
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(sessionId: string): StompSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Tells every session the server is going, and waits until they are gone or `graceMs` has passed. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.#sessions.size === 0) return;
    const gone = new Promise<void>((resolve) => (this.#emptied = resolve));
    for (const session of [...this.#sessions.values()]) session.shutdown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
}
