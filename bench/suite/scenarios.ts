/**
 * The scenarios of `npm run bench`. Each measures every target with the same load generator, one
 * server at a time, rounds interleaved (round 1 of every target, then round 2, ...), and keeps the
 * median of the rounds. Every wait has a bound: a scenario that stops making progress fails
 * instead of hanging.
 */
import { join } from 'node:path';
import { connectClient, startServer, stampedBody, type Client, type Server, type TargetName } from './targets.js';
import { segmentsWithoutData } from './tcp-counters.js';

/** One measured figure of one target: the medians over the rounds, and each round's value. */
export interface Figure {
  value: number;
  p99Ms?: number;
  /** Server CPU time per delivery or round trip, in µs, over the timed part (see Server.cpuMs). */
  cpuUsPerOp?: number;
  /** The part of cpuUsPerOp that is RabbitMQ's node, for the relay (see Server.brokerCpuMs). */
  brokerCpuUsPerOp?: number;
  /**
   * The load generator's own CPU time per delivery or round trip, in µs. On a 2-core machine it
   * shares the cores with the server: the rate cannot pass 2 s over this plus cpuUsPerOp.
   */
  loadCpuUsPerOp?: number;
  /**
   * TCP segments without data (pure ACKs, nearly all) the kernel sent per delivery or round trip,
   * both ends of every loopback connection counted (tcp-counters.ts). Above zero when a server
   * answers too late for the ACK to ride on its reply.
   */
  acksPerOp?: number;
  /** Server memory per session in bytes (sessions scenario): RSS, what the machine gives the server. */
  bytesPerSession?: number;
  /**
   * The part of it that is V8's heap and external memory, where the server is a Node process. Unlike
   * RSS it does not take in what the C allocator keeps from the connect storm, so it moves little
   * between runs (RSS per session of one build read 6.5 and 9.5 kB; this, 3.55 kB both times).
   */
  heapBytesPerSession?: number;
  dropped?: number;
  runs: number[];
}

export interface CaseResult {
  scenario: string;
  case: string;
  unit: string;
  /** The figure is a cost (instructions): a target is ahead of the baseline below it, not above. */
  lowerIsBetter?: boolean;
  figures: Partial<Record<TargetName, Figure>>;
  /** When the case was measured: a run of some scenarios keeps the other cases of an earlier one. */
  measuredAt?: string;
  /** The machine of that run (BenchRun.machine). */
  measuredOn?: string;
}

/** A scenario stops with an error when nothing arrives for this long. */
const STALL_MS = 20_000;
/** Connections opened at the same time while a scenario sets up its clients. */
const CONNECT_CONCURRENCY = 200;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function p99(samples: Float64Array, count: number): number {
  const sorted = samples.subarray(0, count).sort();
  return sorted[Math.min(count - 1, Math.floor(count * 0.99))] ?? 0;
}

async function connectMany(count: number, connect: (i: number) => Promise<Client>): Promise<Client[]> {
  const clients: Client[] = new Array<Client>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      clients[i] = await connect(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
  return clients;
}

type CostFigures = Pick<Figure, 'cpuUsPerOp' | 'brokerCpuUsPerOp' | 'loadCpuUsPerOp' | 'acksPerOp'>;

/** CPU time from now on of the server, its broker and this load generator, and the kernel's ACKs, per operation. */
async function costMeter(server: Server): Promise<{ perOp(ops: number): Promise<CostFigures> }> {
  const serverMs = await server.cpuMs();
  const brokerMs = await server.brokerCpuMs?.();
  const acks = segmentsWithoutData();
  // User + system of every thread of this process, in µs.
  const load = process.cpuUsage();
  return {
    async perOp(ops) {
      const { user, system } = process.cpuUsage(load);
      const acksNow = segmentsWithoutData();
      const brokerNow = await server.brokerCpuMs?.();
      return {
        cpuUsPerOp: ((await server.cpuMs()) - serverMs) * (1000 / ops),
        brokerCpuUsPerOp:
          brokerMs === undefined || brokerNow === undefined ? undefined : (brokerNow - brokerMs) * (1000 / ops),
        loadCpuUsPerOp: (user + system) / ops,
        acksPerOp: acks === undefined || acksNow === undefined ? undefined : (acksNow - acks) / ops,
      };
    },
  };
}

/**
 * Deliveries counted as they come, and waits for the count to reach a mark. A wait ends in the
 * delivery that reaches it, and the load generator sleeps until then: polling on setImmediate held
 * a core the server under test shares, and a timer added up to its period to every fan-out window.
 */
class DeliveryCount {
  value = 0;
  #mark = Infinity;
  #reached: (() => void) | undefined;

  add(): number {
    const index = this.value++;
    if (this.value >= this.#mark) this.#reached!();
    return index;
  }

  /** Resolves when the count reaches `mark`; rejects after a whole STALL_MS with no delivery. */
  reach(mark: number, what: string): Promise<void> {
    if (this.value >= mark) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let seen = this.value;
      const stall = setInterval(() => {
        if (this.value === seen) {
          this.#stop(stall);
          reject(new Error(`${what}: no progress for ${STALL_MS} ms (${this.value} so far)`));
        }
        seen = this.value;
      }, STALL_MS);
      this.#mark = mark;
      this.#reached = () => {
        this.#stop(stall);
        resolve();
      };
    });
  }

  #stop(stall: ReturnType<typeof setInterval>): void {
    clearInterval(stall);
    this.#mark = Infinity;
    this.#reached = undefined;
  }
}

async function rounds(
  targets: TargetName[],
  count: number,
  measure: (server: Server, target: TargetName) => Promise<Omit<Figure, 'runs'>>,
  serverEnv: Record<string, string> = {},
): Promise<Partial<Record<TargetName, Figure>>> {
  const perTarget = new Map<TargetName, Omit<Figure, 'runs'>[]>(targets.map((t) => [t, []]));
  for (let round = 0; round < count; round++) {
    for (const target of targets) {
      const server = await startServer(target, { serverEnv });
      try {
        perTarget.get(target)!.push(await measure(server, target));
      } finally {
        await server.stop();
      }
    }
  }
  const figures: Partial<Record<TargetName, Figure>> = {};
  for (const [target, runs] of perTarget) {
    const pick = (key: keyof Omit<Figure, 'runs'>) => {
      const values = runs.map((r) => r[key]).filter((v): v is number => v !== undefined);
      return values.length > 0 ? median(values) : undefined;
    };
    figures[target] = {
      value: pick('value')!,
      p99Ms: pick('p99Ms'),
      cpuUsPerOp: pick('cpuUsPerOp'),
      brokerCpuUsPerOp: pick('brokerCpuUsPerOp'),
      loadCpuUsPerOp: pick('loadCpuUsPerOp'),
      acksPerOp: pick('acksPerOp'),
      bytesPerSession: pick('bytesPerSession'),
      heapBytesPerSession: pick('heapBytesPerSession'),
      dropped: runs.some((r) => r.dropped !== undefined) ? Math.max(...runs.map((r) => r.dropped ?? 0)) : undefined,
      runs: runs.map((r) => Math.round(r.value)),
    };
  }
  return figures;
}

export interface FanoutParams {
  subscribers: number;
  bodyBytes: number;
  /** Deliveries per run (messages × subscribers), which bounds the run's length. */
  deliveries: number;
}

/**
 * One publisher, N subscribers of one topic. The publisher sends in windows and the next window
 * goes when every subscriber has the last one, so no side is measured by how much it buffers.
 */
export async function fanout(targets: TargetName[], roundCount: number, params: FanoutParams): Promise<CaseResult> {
  const { subscribers, bodyBytes } = params;
  const messages = Math.max(1, Math.ceil(params.deliveries / subscribers));
  const window = Math.max(1, Math.min(50, Math.floor(5_000 / subscribers)));
  const body = stampedBody(bodyBytes);
  const figures = await rounds(targets, roundCount, async (server) => {
    const topic = `bench-${Math.random().toString(36).slice(2, 8)}`;
    let latencies = new Float64Array(0);
    let received = new DeliveryCount();
    const clients = await connectMany(subscribers, async (i) => {
      const client = await connectClient(server, { node: i });
      client.onTopic((sentAt) => (latencies[received.add()] = performance.now() - sentAt));
      await client.subscribe(topic);
      return client;
    });
    const publisher = await connectClient(server);
    /** Publishes `count` messages in windows; the figures of the whole. */
    const publish = async (count: number) => {
      latencies = new Float64Array(count * subscribers);
      received = new DeliveryCount();
      const cost = await costMeter(server);
      const start = performance.now();
      for (let sent = 0; sent < count;) {
        const end = Math.min(sent + window, count);
        for (; sent < end; sent++) publisher.publish(topic, body());
        await received.reach(end * subscribers, 'fan-out');
      }
      const seconds = (performance.now() - start) / 1000;
      const deliveries = received.value;
      return { value: deliveries / seconds, p99Ms: p99(latencies, deliveries), ...(await cost.perOp(deliveries)) };
    };
    // A tenth of the run first, untimed: every target is measured warm, none by its start-up.
    await publish(Math.ceil(messages / 10));
    const figure = await publish(messages);
    for (const client of [...clients, publisher]) client.close();
    return figure;
  });
  return {
    scenario: 'fanout',
    case: `fan-out ${subscribers} subs, ${bodyBytes} B`,
    unit: 'deliveries/s',
    figures,
  };
}

export interface RoundTripParams {
  pairs: number;
  /** How many times each pair goes through its exchange, timed. */
  exchanges: number;
  /**
   * Untimed exchanges first, so that every target is measured warm: V8 has optimised the hot paths
   * (stomprtc has far more JavaScript on them than ws) and the socket buffers have grown.
   */
  warmExchanges: number;
  /** stomprtc's path: signals (offer, answer, 10 candidates) or relay chat. */
  path: '/app/signal' | '/app/relay';
}

const OFFER_BYTES = 1_200;
const CANDIDATE_BYTES = 180;
const CHAT_BYTES = 100;
/** An exchange: offer → answer, then 5 candidates each way = 6 round trips, 12 messages. */
export const ROUND_TRIPS_PER_EXCHANGE = 6;

/** Pairs of peers in rooms of their own: peers[2i] and peers[2i + 1] share room `bench-<runId>-<i>`. */
interface Pairs {
  peers: Client[];
  runId: string;
  count: number;
  signaling: boolean;
}

async function connectPairs(server: Server, count: number, path: RoundTripParams['path']): Promise<Pairs> {
  const runId = Math.random().toString(36).slice(2, 8);
  const peers = await connectMany(count * 2, async (i) => {
    const client = await connectClient(server, { node: i, direct: path });
    await client.join(`bench-${runId}-${i >> 1}`);
    return client;
  });
  return { peers, runId, count, signaling: path === '/app/signal' };
}

/**
 * Every pair goes through `tripsPerPair` round trips at once. A sends, B answers with A's send time
 * in the body, and A's receipt of the answer ends one round trip; a pair starts its next round trip
 * then. Returns each round trip's latency and how long they all took.
 */
async function exchange(pairs: Pairs, tripsPerPair: number): Promise<{ latencies: Float64Array; seconds: number }> {
  const { peers, runId, count, signaling } = pairs;
  const first = signaling ? OFFER_BYTES : CHAT_BYTES;
  const rest = signaling ? CANDIDATE_BYTES : CHAT_BYTES;
  const latencies = new Float64Array(count * tripsPerPair);
  const done = new DeliveryCount();
  for (let pair = 0; pair < count; pair++) {
    const a = peers[pair * 2]!;
    const b = peers[pair * 2 + 1]!;
    const room = `bench-${runId}-${pair}`;
    let trips = 0;
    const firstBody = stampedBody(first);
    const restBody = stampedBody(rest);
    const send = () => a.direct(b, room, (trips % ROUND_TRIPS_PER_EXCHANGE === 0 ? firstBody : restBody)());
    // B answers with the stamp of what it got: the answer's stamp is A's send time.
    b.onDirect((sentAt) => b.direct(a, room, stampedAt(rest, sentAt)));
    a.onDirect((sentAt) => {
      latencies[done.add()] = performance.now() - sentAt;
      if (++trips < tripsPerPair) send();
    });
    queueMicrotask(send);
  }
  const start = performance.now();
  await done.reach(count * tripsPerPair, 'round trips');
  return { latencies, seconds: (performance.now() - start) / 1000 };
}

function closeAll(pairs: Pairs): void {
  for (const peer of pairs.peers) peer.close();
}

/** Pairs in rooms of their own, every pair at once, each through `exchanges` exchanges. */
export async function roundTrips(
  targets: TargetName[],
  roundCount: number,
  params: RoundTripParams,
): Promise<CaseResult> {
  const { pairs: count, exchanges, warmExchanges, path } = params;
  const figures = await rounds(targets, roundCount, async (server) => {
    const pairs = await connectPairs(server, count, path);
    await exchange(pairs, warmExchanges * ROUND_TRIPS_PER_EXCHANGE);
    const cost = await costMeter(server);
    const { latencies, seconds } = await exchange(pairs, exchanges * ROUND_TRIPS_PER_EXCHANGE);
    const done = latencies.length;
    const perOp = await cost.perOp(done);
    closeAll(pairs);
    return { value: done / seconds, p99Ms: p99(latencies, done), ...perOp };
  });
  return {
    scenario: path === '/app/signal' ? 'signaling' : 'relay-chat',
    case: path === '/app/signal' ? `signaling ${count} rooms × 2 peers` : `relay chat ${count} pairs`,
    unit: 'round trips/s',
    figures,
  };
}

export interface InstructionParams extends RoundTripParams {
  /** Keeps each server's dumps and JIT map in `<profileDir>/<target>/` (bench/profile.ts). */
  profileDir?: string;
}

/** Counted windows per server; the figure is their median. */
const COUNTED_WINDOWS = 3;

/**
 * The round trips of `roundTrips`, each server under callgrind: the instructions it executes per
 * round trip, in user space. Each server counts COUNTED_WINDOWS windows of `exchanges` exchanges
 * in a row: a window that a major collection or a re-optimisation falls into reads high, and the
 * median leaves it out. (A forced collection before each window does worse: V8 then drops code it
 * had optimised, and the window pays for optimising it again.)
 */
export async function instructions(targets: TargetName[], params: InstructionParams): Promise<CaseResult> {
  const { pairs: count, exchanges, warmExchanges, path, profileDir } = params;
  const figures: Partial<Record<TargetName, Figure>> = {};
  for (const target of targets) {
    const server = await startServer(target, {
      callgrind: true,
      ...(profileDir ? { profileDir: join(profileDir, target) } : {}),
    });
    try {
      const pairs = await connectPairs(server, count, path);
      await exchange(pairs, warmExchanges * ROUND_TRIPS_PER_EXCHANGE);
      const trips = exchanges * ROUND_TRIPS_PER_EXCHANGE;
      const windows: number[] = [];
      for (let window = 0; window < COUNTED_WINDOWS; window++) {
        const counted = await server.instructionsWhile(async () => void (await exchange(pairs, trips)));
        windows.push(Math.round(counted / (count * trips)));
      }
      closeAll(pairs);
      figures[target] = { value: median(windows), runs: windows };
    } finally {
      await server.stop();
    }
  }
  const what = path === '/app/signal' ? 'signaling' : 'relay chat';
  return {
    scenario: 'instructions',
    case: `server instructions per round trip, ${what} ${count} pairs (callgrind)`,
    unit: 'instructions',
    lowerIsBetter: true,
    figures,
  };
}

function stampedAt(size: number, sentAt: number): string {
  return stampedBody(size)().replace(/^(\{"t":")[^"]*/, `$1${sentAt.toFixed(3).padStart(16, '0')}`);
}

export interface SessionParams {
  sessions: number;
  /** How long the sessions are held with heart-beats before memory is measured and drops counted. */
  holdMs: number;
  heartBeatMs: number;
}

/**
 * N sessions connected (CONNECT_CONCURRENCY in flight), held with heart-beats, then counted:
 * the connect rate, the server's memory per session (RSS after a full collection, against
 * before) and how many the server closed.
 */
export async function sessions(targets: TargetName[], roundCount: number, params: SessionParams): Promise<CaseResult> {
  const { sessions: count, holdMs, heartBeatMs } = params;
  const serverEnv = { BENCH_SERVER_HEARTBEAT_MS: String(heartBeatMs) };
  const figures = await rounds(
    targets,
    roundCount,
    async (server) => {
      const before = await server.memory();
      const clients: Client[] = [];
      // Heart-beats start with the first session: connecting them all takes longer than the window.
      const beats = setInterval(() => clients.forEach((c) => c.beat()), heartBeatMs / 2);
      const start = performance.now();
      await connectMany(count, async () => {
        const client = await connectClient(server, { heartBeatMs });
        clients.push(client);
        return client;
      });
      const perSecond = count / ((performance.now() - start) / 1000);
      await new Promise((r) => setTimeout(r, holdMs));
      const after = await server.memory();
      clearInterval(beats);
      const dropped = clients.filter((c) => !c.open()).length;
      for (const client of clients) client.close();
      const heapBytesPerSession =
        after.heap === undefined || before.heap === undefined ? undefined : (after.heap - before.heap) / count;
      return { value: perSecond, bytesPerSession: (after.rss - before.rss) / count, heapBytesPerSession, dropped };
    },
    serverEnv,
  );
  return {
    scenario: 'sessions',
    case: `sessions ${count} held (heart-beat ${heartBeatMs / 1000} s)`,
    unit: 'connects/s',
    figures,
  };
}
