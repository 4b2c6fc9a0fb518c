/**
 * The speed and memory targets stomprtc holds itself to, read off a run of the suite. Every ratio
 * is to a baseline measured in the same run (plain `ws`, or RabbitMQ Web-STOMP for the cluster
 * cases); only the P2P set-up is an absolute time. The report shows which a run met, and
 * docs/performance.md what limits those it did not. They are figures of a benchmark, never
 * pass/fail of a test.
 */
import type { CaseResult } from './suite/scenarios.js';
import type { TargetName } from './suite/targets.js';

/**
 * - rate: the target's value over the baseline's (deliveries/s, round trips/s, connects/s), at least
 * - p99: the target's p99 latency over the baseline's, at most
 * - time: the target's value in ms, at most
 * - memory: server RSS per session in bytes, at most
 * - dropped: sessions the server closed, at most
 */
export type Measure = 'rate' | 'p99' | 'time' | 'memory' | 'dropped';

export interface Goal {
  /** The case's name without the parenthesis some names end with (caseKey). */
  readonly case: string;
  readonly target: TargetName;
  readonly measure: Measure;
  readonly bound: number;
  /** For rate and p99. */
  readonly baseline?: TargetName;
}

export interface GoalReading {
  readonly goal: Goal;
  /** Undefined when the run has no such figure (a scenario that failed or did not run). */
  readonly value: number | undefined;
  readonly met: boolean;
}

/** A case is known by its name without the parenthesis some names end with (a figure of the run). */
export function caseKey(name: string): string {
  return name.replace(/ \(.*\)$/, '');
}

const AT_MOST: ReadonlySet<Measure> = new Set(['p99', 'time', 'memory', 'dropped']);

const fanOut = (subscribers: number, bytes: number, rate: number): Goal[] => [
  { case: `fan-out ${subscribers} subs, ${bytes} B`, target: 'stomprtc', measure: 'rate', bound: rate, baseline: 'ws' },
  { case: `fan-out ${subscribers} subs, ${bytes} B`, target: 'stomprtc', measure: 'p99', bound: 1.5, baseline: 'ws' },
];

const signaling = (rooms: number): Goal[] => [
  { case: `signaling ${rooms} rooms × 2 peers`, target: 'stomprtc', measure: 'rate', bound: 0.9, baseline: 'ws' },
  { case: `signaling ${rooms} rooms × 2 peers`, target: 'stomprtc', measure: 'p99', bound: 1.5, baseline: 'ws' },
];

const SESSIONS = 'sessions 19000 held';

export const GOALS: readonly Goal[] = [
  ...[10, 100, 1000].flatMap((subscribers) => [...fanOut(subscribers, 200, 0.9), ...fanOut(subscribers, 2048, 0.8)]),
  ...signaling(100),
  ...signaling(1000),
  { case: 'relay chat 1000 pairs', target: 'stomprtc', measure: 'rate', bound: 0.8, baseline: 'ws' },
  { case: SESSIONS, target: 'stomprtc', measure: 'dropped', bound: 0 },
  { case: SESSIONS, target: 'stomprtc', measure: 'memory', bound: 9000 },
  { case: SESSIONS, target: 'stomprtc', measure: 'rate', bound: 0.6, baseline: 'ws' },
  { case: 'P2P join → open channel, 2 peers, a process each', target: 'stomprtc', measure: 'time', bound: 40 },
  { case: 'P2P join → open channel, 6 peers, a process each', target: 'stomprtc', measure: 'time', bound: 120 },
  { case: 'P2P join → first message, 2 peers on loopback', target: 'stomprtc', measure: 'time', bound: 15 },
  ...['fan-out 100 subs, 200 B', 'signaling 100 rooms × 2 peers'].map((name): Goal => ({
    case: `RabbitMQ relay, 2 nodes: ${name}`,
    target: 'stomprtc-relay',
    measure: 'rate',
    bound: 3,
    baseline: 'web-stomp',
  })),
];

function valueOf(goal: Goal, result: CaseResult): number | undefined {
  const figure = result.figures[goal.target];
  const base = goal.baseline === undefined ? undefined : result.figures[goal.baseline];
  if (!figure) return undefined;
  switch (goal.measure) {
    case 'rate':
      return base ? figure.value / base.value : undefined;
    case 'p99':
      return base?.p99Ms && figure.p99Ms !== undefined ? figure.p99Ms / base.p99Ms : undefined;
    case 'time':
      return figure.value;
    case 'memory':
      // Zero or below is RSS noise (report.ts): no reading, not a met target.
      return figure.bytesPerSession !== undefined && figure.bytesPerSession > 0 ? figure.bytesPerSession : undefined;
    case 'dropped':
      return figure.dropped;
  }
}

/** Each goal against the run's cases; a goal whose figure the run lacks is not met. */
export function readGoals(cases: readonly CaseResult[], goals: readonly Goal[] = GOALS): GoalReading[] {
  return goals.map((goal) => {
    const result = cases.find((c) => caseKey(c.case) === goal.case);
    const value = result && valueOf(goal, result);
    const met = value !== undefined && (AT_MOST.has(goal.measure) ? value <= goal.bound : value >= goal.bound);
    return { goal, value, met };
  });
}

/** "rate ≥ 0.9× ws", "p99 ≤ 1.5× ws", "≤ 40 ms", "≤ 9.0 kB/session", "0 dropped". */
export function describeGoal(goal: Goal): string {
  switch (goal.measure) {
    case 'rate':
      return `rate ≥ ${goal.bound}× ${goal.baseline}`;
    case 'p99':
      return `p99 ≤ ${goal.bound}× ${goal.baseline}`;
    case 'time':
      return `≤ ${goal.bound} ms`;
    case 'memory':
      return `≤ ${(goal.bound / 1000).toFixed(1)} kB/session`;
    case 'dropped':
      return goal.bound === 0 ? 'none dropped' : `≤ ${goal.bound} dropped`;
  }
}

export function describeValue(goal: Goal, value: number | undefined): string {
  if (value === undefined) return 'not measured';
  switch (goal.measure) {
    case 'rate':
    case 'p99':
      return `${value.toFixed(2)}×`;
    case 'time':
      return `${value.toPrecision(3)} ms`;
    case 'memory':
      return `${(value / 1000).toFixed(1)} kB/session`;
    case 'dropped':
      return `${value} dropped`;
  }
}
