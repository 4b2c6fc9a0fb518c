import type { StompSession } from './stomp-session.js';

/** Live sessions by id: for shutdown, health and metrics. */
export class SessionRegistry {
  private readonly sessions = new Map<string, StompSession>();
  private emptied: (() => void) | undefined;

  add(session: StompSession): void {
    this.sessions.set(session.sessionId, session);
  }

  remove(session: StompSession): void {
    this.sessions.delete(session.sessionId);
    if (this.sessions.size === 0) this.emptied?.();
  }

  get size(): number {
    return this.sessions.size;
  }

  get(sessionId: string): StompSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** Tells every session the server is going, and waits until they are gone or `graceMs` has passed. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.sessions.size === 0) return;
    const gone = new Promise<void>((resolve) => (this.emptied = resolve));
    for (const session of [...this.sessions.values()]) session.shutdown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
}
