/** Decides when the signaling connection is tried again. */
export interface ReconnectContext {
  /** 1 for the first retry after a loss, counting up until a connection succeeds. */
  readonly attempt: number;
  /** Milliseconds since the connection was lost (or since the first attempt failed). */
  readonly elapsedMs: number;
}

export interface ReconnectPolicy {
  /** Delay before the next attempt, or null to give up (the session then closes). */
  nextDelayMs(ctx: ReconnectContext): number | null;
}

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** Give up after this many consecutive failed attempts. @default Infinity */
  readonly maxAttempts?: number;
}

/** Exponential backoff with full jitter in the upper half: base·2^(n-1), capped. */
export function exponentialBackoff(opts: BackoffOptions = {}): ReconnectPolicy {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 10_000;
  const maxAttempts = opts.maxAttempts ?? Infinity;
  return {
    nextDelayMs({ attempt }) {
      if (attempt > maxAttempts) return null;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    },
  };
}

export const NEVER_RECONNECT: ReconnectPolicy = { nextDelayMs: () => null };
