/**
 * STOMP heart-beating (§Heart-beating). Each side offers "cx,cy": cx is the smallest interval at
 * which it can send, cy the interval it wants to receive at; 0 means "cannot" / "does not want".
 */
export interface HeartbeatIntervals {
  /** How often the server sends an EOL when otherwise silent; 0 = never. */
  readonly sendEveryMs: number;
  /** How often the client must show life; 0 = not checked. */
  readonly expectEveryMs: number;
}

export function parseHeartbeatHeader(value: string | undefined): [number, number] | null {
  if (value === undefined) return [0, 0];
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (!match) return null;
  return [Number(match[1]), Number(match[2])];
}

/**
 * "the sender will send heart-beats every MAX(cx,sy) milliseconds" and the receiver expects them
 * every MAX(sx,cy), in each direction only when both sides asked for it.
 */
export function negotiateHeartbeat(client: [number, number], serverMs: number): HeartbeatIntervals {
  const [clientCanSend, clientWants] = client;
  return {
    sendEveryMs: clientWants > 0 && serverMs > 0 ? Math.max(serverMs, clientWants) : 0,
    expectEveryMs: clientCanSend > 0 && serverMs > 0 ? Math.max(serverMs, clientCanSend) : 0,
  };
}

/** Runs both timers of one session; the session tells it about traffic in either direction. */
export class Heartbeat {
  private lastInbound = Date.now();
  private lastOutbound = Date.now();
  private sendTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervals: HeartbeatIntervals,
    private readonly graceMs: number,
    private readonly sendBeat: () => void,
    private readonly onTimeout: (silentMs: number) => void,
  ) {}

  start(): void {
    const { sendEveryMs, expectEveryMs } = this.intervals;
    if (sendEveryMs > 0) {
      this.sendTimer = setInterval(() => {
        if (Date.now() - this.lastOutbound >= sendEveryMs * 0.9) this.sendBeat();
      }, sendEveryMs);
      this.sendTimer.unref();
    }
    if (expectEveryMs > 0) {
      const limit = expectEveryMs + this.graceMs;
      this.checkTimer = setInterval(() => {
        const silent = Date.now() - this.lastInbound;
        if (silent > limit) this.onTimeout(silent);
      }, Math.min(expectEveryMs, 1000));
      this.checkTimer.unref();
    }
  }

  noteInbound(): void {
    this.lastInbound = Date.now();
  }

  noteOutbound(): void {
    this.lastOutbound = Date.now();
  }

  stop(): void {
    clearInterval(this.sendTimer);
    clearInterval(this.checkTimer);
  }
}
