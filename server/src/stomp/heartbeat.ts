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

/** Null when the header is not `<ms>,<ms>` or an interval is over `maxMs` (HEARTBEAT_MAX_MS). */
export function parseHeartbeatHeader(value: string | undefined, maxMs: number): [number, number] | null {
  if (value === undefined) return [0, 0];
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (!match) return null;
  const intervals: [number, number] = [Number(match[1]), Number(match[2])];
  return intervals[0] <= maxMs && intervals[1] <= maxMs ? intervals : null;
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

/**
 * Heart-beats run on shared wheels, one per period: a wheel visits each member once a period, a
 * tenth of its members per tick, so beats and checks come at each session's own phase (a full
 * period after it started), as with a timer per session, but one timer serves all the sessions of
 * a period and a session holds no timer of its own (19,000 sessions held 38,000 Timeouts).
 */
const WHEEL_SLOTS = 10;

/**
 * Milliseconds since this module loaded, as small integers, which V8 keeps in the object itself
 * (for 24 days of uptime). A difference of two doubles is a boxed double, whole or not, and a
 * field that once held one boxes every value: 32 bytes more per session. Math.floor returns a
 * small integer where it can.
 */
const EPOCH = Date.now();
function now(): number {
  return Math.floor(Date.now() - EPOCH);
}

type Visit<T> = (members: Set<T>, at: number, lagMs: number) => void;

/** The members of one period in slots; each tick visits the next slot, so each member once a period. */
class Wheel<T> {
  readonly #slots: Set<T>[] = [];
  /** When each slot was last visited: a late visit says the process was busy (event-loop lag). */
  readonly #visitedAt: number[] = [];
  readonly #periodMs: number;
  readonly #wheels: Map<number, Wheel<T>>;
  readonly #visit: Visit<T>;
  readonly #timer: NodeJS.Timeout;
  #next = 0;
  #size = 0;

  /** The wheel of `periodMs` in `wheels`, made (and its timer started) when it has no members yet. */
  static of<T>(wheels: Map<number, Wheel<T>>, periodMs: number, visit: Visit<T>): Wheel<T> {
    let wheel = wheels.get(periodMs);
    if (!wheel) wheels.set(periodMs, (wheel = new Wheel(wheels, periodMs, visit)));
    return wheel;
  }

  private constructor(wheels: Map<number, Wheel<T>>, periodMs: number, visit: Visit<T>) {
    this.#wheels = wheels;
    this.#periodMs = periodMs;
    this.#visit = visit;
    // A period under WHEEL_SLOTS ms gets one slot per millisecond.
    const slots = Math.max(1, Math.min(WHEEL_SLOTS, Math.floor(periodMs)));
    const started = now();
    for (let i = 0; i < slots; i++) {
      this.#slots.push(new Set());
      this.#visitedAt.push(started);
    }
    this.#timer = setInterval(() => this.#tick(), Math.max(1, Math.round(periodMs / slots)));
    this.#timer.unref();
  }

  /** Puts `member` in the slot just visited, so its first visit is a period from now. */
  add(member: T): void {
    this.#slots[(this.#next + this.#slots.length - 1) % this.#slots.length]!.add(member);
    this.#size++;
  }

  /** Looks in every slot: a member keeping its slot's number would weigh on each idle session. */
  remove(member: T): void {
    let removed = false;
    for (let i = 0; i < this.#slots.length && !removed; i++) removed = this.#slots[i]!.delete(member);
    if (!removed || --this.#size > 0) return;
    clearInterval(this.#timer);
    this.#wheels.delete(this.#periodMs);
  }

  #tick(): void {
    const slot = this.#next;
    this.#next = (slot + 1) % this.#slots.length;
    const at = now();
    const lagMs = Math.max(0, at - this.#visitedAt[slot]! - this.#periodMs);
    this.#visitedAt[slot] = at;
    if (this.#slots[slot]!.size > 0) this.#visit(this.#slots[slot]!, at, lagMs);
  }
}

/** What heart-beating asks of the connection it keeps: one object, not a callback each (see Heartbeat). */
export interface HeartbeatOwner {
  /** Nothing went out for most of the period: send an EOL. */
  sendHeartbeat(): void;
  /** Nothing came in for the expected interval and the grace. */
  heartbeatTimedOut(silentMs: number): void;
}

/**
 * Both directions of one session's heart-beating; the session tells it about traffic in either
 * direction (any byte received counts as life). Event-loop lag is not taken for client silence.
 */
export class Heartbeat {
  static readonly #sendWheels = new Map<number, Wheel<Heartbeat>>();
  static readonly #checkWheels = new Map<number, Wheel<Heartbeat>>();

  // A session holds one of these for its life: no more fields than the wheels' visits need.
  #lastInbound = now();
  #lastOutbound = now();
  /** The wheels it is on, until stop(). */
  #sendWheel: Wheel<Heartbeat> | undefined;
  #checkWheel: Wheel<Heartbeat> | undefined;

  readonly #sendEveryMs: number;
  /** How long the peer may be silent: the interval it promised plus the grace. */
  readonly #silenceLimitMs: number;
  readonly #owner: HeartbeatOwner;

  /**
   * Starts at once, in each direction that was negotiated. `owner` is told when to beat and when
   * the peer fell silent: a session passes itself, not closures.
   */
  constructor(intervals: HeartbeatIntervals, graceMs: number, owner: HeartbeatOwner) {
    this.#sendEveryMs = intervals.sendEveryMs;
    this.#silenceLimitMs = intervals.expectEveryMs + graceMs;
    this.#owner = owner;
    if (intervals.sendEveryMs > 0) {
      this.#sendWheel = Wheel.of(Heartbeat.#sendWheels, intervals.sendEveryMs, Heartbeat.#visitSend);
      this.#sendWheel.add(this);
    }
    if (intervals.expectEveryMs > 0) {
      const checkEveryMs = Math.min(intervals.expectEveryMs, 1000);
      this.#checkWheel = Wheel.of(Heartbeat.#checkWheels, checkEveryMs, Heartbeat.#visitCheck);
      this.#checkWheel.add(this);
    }
  }

  noteInbound(): void {
    this.#lastInbound = now();
  }

  noteOutbound(): void {
    this.#lastOutbound = now();
  }

  stop(): void {
    this.#sendWheel?.remove(this);
    this.#checkWheel?.remove(this);
    this.#sendWheel = undefined;
    this.#checkWheel = undefined;
  }

  /** Beats when nothing else went out for most of the period. */
  static #visitSend(this: void, members: Set<Heartbeat>, at: number): void {
    for (const heartbeat of members) {
      if (at - heartbeat.#lastOutbound >= heartbeat.#sendEveryMs * 0.9) heartbeat.#owner.sendHeartbeat();
    }
  }

  /**
   * A visit that comes late says this process was busy; the client's bytes may be sitting unread in
   * the socket. The deadline moves by the lag, and the verdict waits for setImmediate, which runs
   * after the poll phase has read what the sockets hold.
   */
  static #visitCheck(this: void, members: Set<Heartbeat>, at: number, lagMs: number): void {
    let suspects: Heartbeat[] | undefined;
    for (const heartbeat of members) {
      if (at - heartbeat.#lastInbound > heartbeat.#silenceLimitMs + lagMs) (suspects ??= []).push(heartbeat);
    }
    if (!suspects) return;
    setImmediate(() => {
      for (const heartbeat of suspects) {
        const silent = now() - heartbeat.#lastInbound;
        if (heartbeat.#checkWheel !== undefined && silent > heartbeat.#silenceLimitMs + lagMs)
          heartbeat.#owner.heartbeatTimedOut(silent);
      }
    });
  }
}
