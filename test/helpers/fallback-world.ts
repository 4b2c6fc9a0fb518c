/**
 * The world of the fallback tests and the fallback bench: a netns topology, optionally a coturn,
 * a real server listening on the root side (reachable from both namespaces), and chat peers as
 * separate processes inside the namespaces (test/fixtures/netns-peer.ts), driven over JSON lines.
 */
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config.js';
import type { LoggedMessage, PeerArgs, PeerCommand, PeerEvent } from '../fixtures/netns-peer.js';
import { startCoturn, type Coturn } from './coturn.js';
import { createTopology, sweepStale, type Topology } from './netns.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PEER_SCRIPT = 'test/fixtures/netns-peer.ts';

export interface PeerLogs {
  readonly sent: readonly string[];
  readonly sentAt: readonly number[];
  readonly received: readonly LoggedMessage[];
}

export type EventOf<K extends PeerEvent['ev']> = Extract<PeerEvent, { ev: K }>;

/** A chat peer process inside a namespace. */
export class PeerProcess {
  readonly events: PeerEvent[] = [];
  #stderr = '';
  readonly #exited: Promise<number | null>;

  readonly #child: ChildProcess;

  constructor(
    readonly name: string,
    readonly ns: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as PeerEvent);
      } catch {
        this.#stderr += `[stdout] ${line}\n`;
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.#stderr += c;
      // Keep memory bounded over long debug runs; the tail is what explains a failure.
      if (this.#stderr.length > 2_000_000) this.#stderr = this.#stderr.slice(-1_000_000);
    });
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get stderr(): string {
    return this.#stderr;
  }
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  command(c: PeerCommand): void {
    if (this.running) this.#child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  all<K extends PeerEvent['ev']>(ev: K): Array<EventOf<K>> {
    return this.events.filter((e): e is EventOf<K> => e.ev === ev);
  }

  /** Resolves with the first event (at index ≥ from) that matches; rejects on timeout or exit. */
  async waitFor<K extends PeerEvent['ev']>(
    ev: K,
    pred: (e: EventOf<K>) => boolean = () => true,
    timeoutMs = 30_000,
    from = 0,
  ): Promise<EventOf<K>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.events.length; i++) {
        const e = this.events[i]!;
        if (e.ev === ev && pred(e as EventOf<K>)) return e as EventOf<K>;
      }
      if (!this.running) throw new Error(`peer ${this.name} exited while waiting for ${ev}\n${this.describe()}`);
      if (Date.now() > deadline)
        throw new Error(`peer ${this.name}: no ${ev} event within ${timeoutMs} ms\n${this.describe()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async logs(timeoutMs = 10_000): Promise<PeerLogs> {
    const from = this.events.length;
    this.command({ cmd: 'logs' });
    return this.waitFor('logs', () => true, timeoutMs, from);
  }

  /** Link tiers this peer reported, in order (one entry per link-state event). */
  tiers(): string[] {
    return this.all('link-state').map((e) => e.state);
  }

  /** What the failure message should show: the last events and the stderr tail. */
  describe(): string {
    const recent = this.events
      .filter((e) => e.ev !== 'message')
      .slice(-30)
      .map((e) => JSON.stringify(e))
      .join('\n');
    return `--- ${this.name} events (last, without messages):\n${recent}\n--- ${this.name} stderr (tail):\n${this.#stderr.slice(-4000)}`;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.command({ cmd: 'exit' });
    this.#child.stdin!.end();
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 4000);
    await this.#exited;
    clearTimeout(t);
  }
}

export interface WorldOptions {
  readonly direct?: boolean;
  readonly turn?: boolean;
  /** Extra server environment (e.g. rate limits). */
  readonly serverEnv?: Record<string, string>;
}

export interface World {
  readonly topology: Topology;
  readonly coturn: Coturn | undefined;
  readonly server: FastifyInstance;
  readonly wsUrl: string;
  readonly peers: PeerProcess[];
  startPeer(side: 'a' | 'b', args: Omit<PeerArgs, 'url'>): Promise<PeerProcess>;
  close(): Promise<void>;
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  await sweepStale();
  const topology = await createTopology({ direct: options.direct ?? false });
  let coturn: Coturn | undefined;
  let server: FastifyInstance | undefined;
  const peers: PeerProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(peers.map((p) => p.stop()));
    await server?.close();
    await coturn?.stop();
    await topology.destroy();
  };
  try {
    const env: Record<string, string> = { PORT: '0', LOG_LEVEL: 'warn', ...options.serverEnv };
    if (options.turn) {
      coturn = await startCoturn({ listeningIps: [topology.a.rootAddress, topology.b.rootAddress] });
      // One URL: both namespaces reach every root address, and one allocation per peer keeps ICE short.
      env.TURN_URLS = coturn.urls[0]!;
      env.TURN_SECRET = coturn.secret;
    }
    server = await buildApp(loadConfig(env));
    // Only on the test network: both namespaces reach this root-side address, nothing else does.
    await server.listen({ port: 0, host: topology.a.rootAddress });
    const { port } = server.server.address() as AddressInfo;
    const wsUrl = `ws://${topology.a.rootAddress}:${port}/ws`;
    return {
      topology,
      coturn,
      server,
      wsUrl,
      peers,
      async startPeer(side, args) {
        const ns = topology[side].ns;
        const full: PeerArgs = { url: wsUrl, ...args };
        const child = topology.spawnIn(ns, process.execPath, ['--import', 'tsx', PEER_SCRIPT, JSON.stringify(full)], {
          cwd: REPO,
        });
        const peer = new PeerProcess(args.name, ns, child);
        peers.push(peer);
        await peer.waitFor('ready', () => true, 30_000);
        return peer;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface LogComparison {
  /** Messages the sender sent that the receiver does not have. */
  readonly lost: number;
  /** Messages the receiver got more than once. */
  readonly duplicated: number;
  /** Messages the receiver got that nobody sent. */
  readonly unexpected: number;
  /** Whether what the receiver got from this sender, in order, equals what was sent. */
  readonly exact: boolean;
}

/** Compares the receiver's log of one sender's payloads (by prefix) with that sender's log. */
export function compareLogs(
  sent: readonly string[],
  received: readonly LoggedMessage[],
  senderName: string,
): LogComparison {
  const got = received.map((m) => m.data).filter((d) => d.startsWith(`${senderName}-`));
  const sentSet = new Set(sent);
  const counts = new Map<string, number>();
  for (const d of got) counts.set(d, (counts.get(d) ?? 0) + 1);
  let lost = 0,
    duplicated = 0,
    unexpected = 0;
  for (const s of sent) if (!counts.has(s)) lost++;
  for (const [d, n] of counts) {
    if (!sentSet.has(d)) unexpected += n;
    else if (n > 1) duplicated += n - 1;
  }
  const exact = got.length === sent.length && got.every((d, i) => d === sent[i]);
  return { lost, duplicated, unexpected, exact };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Delivery latency (receive time − send time, ms) of the first copy of each sent message. */
export function latencies(sender: PeerLogs, receiver: PeerLogs): { p50: number; p99: number; max: number } {
  const sentAt = new Map(sender.sent.map((d, i) => [d, sender.sentAt[i]!]));
  const seen = new Set<string>();
  const values: number[] = [];
  for (const m of receiver.received) {
    const at = sentAt.get(m.data);
    if (at === undefined || seen.has(m.data)) continue;
    seen.add(m.data);
    values.push(m.t - at);
  }
  values.sort((x, y) => x - y);
  const q = (f: number) => (values.length ? values[Math.min(values.length - 1, Math.floor(f * values.length))]! : NaN);
  return { p50: q(0.5), p99: q(0.99), max: values.at(-1) ?? NaN };
}

export interface SwitchingOptions {
  /** Messages each way. @default 1800 */
  readonly count?: number;
  /** Messages per second, each way. @default 30 */
  readonly rate?: number;
  /** Direct-path outages: start and length, ms from the first send. */
  readonly cuts?: ReadonlyArray<{ readonly at: number; readonly for: number }>;
  /** Signaling drops: when, and whose. */
  readonly drops?: ReadonlyArray<{ readonly at: number; readonly side: 'a' | 'b' }>;
  /** How long to wait, after the senders finish, for the last messages. @default 60000 */
  readonly drainMs?: number;
}

/**
 * The default schedule (60 s of sending at 30/s):
 *   - a short cut (8 s): libwebrtc reports ICE `disconnected` after ~6 s and recovers by itself
 *     when the path returns within ~30 s; a client that watches ICE state switches to the relay;
 *   - signaling drop of A in the middle of that cut (both paths down for a moment);
 *   - a long cut (45 s): past ~30–45 s the wrtc transport never recovers and never reports
 *     `failed` or closes its channel (measured with plain RTCPeerConnections), so only a client
 *     that acts on `disconnected` (or its own liveness check) delivers what is sent during it;
 *   - signaling drop of B while that cut makes the relay the only path;
 *   - a 4 s blip at the end.
 */
const DEFAULT_SWITCHING: Required<Omit<SwitchingOptions, 'drainMs'>> = {
  count: 1800,
  rate: 30,
  cuts: [
    { at: 4_000, for: 8_000 },
    { at: 16_000, for: 45_000 },
    { at: 63_000, for: 4_000 },
  ],
  drops: [
    { at: 8_000, side: 'a' },
    { at: 30_000, side: 'b' },
  ],
};

export interface SwitchingReport {
  readonly count: number;
  readonly rate: number;
  readonly schedule: readonly string[];
  readonly aToB: LogComparison;
  readonly bToA: LogComparison;
  readonly switches: { readonly A: number; readonly B: number };
  readonly tiers: { readonly A: string; readonly B: string };
  readonly signaling: { readonly A: string; readonly B: string };
  readonly latencyMs: { readonly aToB: ReturnType<typeof latencies>; readonly bToA: ReturnType<typeof latencies> };
  /** Whether every message arrived before the drain deadline. */
  readonly drained: boolean;
  readonly durationS: number;
  readonly logs: { readonly a: PeerLogs; readonly b: PeerLogs };
}

/** Runs a conversation both ways while the schedule cuts the direct path and drops signaling. */
export async function switchingRun(
  world: World,
  a: PeerProcess,
  b: PeerProcess,
  options: SwitchingOptions = {},
): Promise<SwitchingReport> {
  const count = options.count ?? DEFAULT_SWITCHING.count;
  const rate = options.rate ?? DEFAULT_SWITCHING.rate;
  const cuts = options.cuts ?? DEFAULT_SWITCHING.cuts;
  const drops = options.drops ?? DEFAULT_SWITCHING.drops;
  const topo = world.topology;
  const startA = a.all('message').length,
    startB = b.all('message').length;
  const tiersBefore = { A: a.tiers().length, B: b.tiers().length };
  const t0 = Date.now();
  a.command({ cmd: 'send', count, rate });
  b.command({ cmd: 'send', count, rate });
  const schedule: string[] = [];
  const mark = (what: string) => schedule.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
  const steps = [
    ...cuts.flatMap((c) => [
      {
        at: c.at,
        run: async () => {
          await topo.cutDirect();
          mark('cut direct path');
        },
      },
      {
        at: c.at + c.for,
        run: async () => {
          await topo.restoreDirect();
          mark('restore direct path');
        },
      },
    ]),
    ...drops.map((d) => ({
      at: d.at,
      run: async () => {
        (d.side === 'a' ? a : b).command({ cmd: 'drop-signaling' });
        mark(`drop signaling of ${d.side.toUpperCase()}`);
      },
    })),
  ].sort((x, y) => x.at - y.at);
  try {
    for (const step of steps) {
      const wait = t0 + step.at - Date.now();
      if (wait > 0) await sleep(wait);
      await step.run();
    }
  } finally {
    if (topo.hasDirect && !topo.directUp) await topo.restoreDirect();
  }
  const sendMs = (count / rate) * 1000;
  await a.waitFor('sent', () => true, Math.max(0, t0 + sendMs - Date.now()) + 30_000);
  await b.waitFor('sent', () => true, Math.max(0, t0 + sendMs - Date.now()) + 30_000);
  let drained = true;
  try {
    const drainMs = options.drainMs ?? 60_000;
    await Promise.all([
      a.waitFor('message', () => a.all('message').length - startA >= count, drainMs),
      b.waitFor('message', () => b.all('message').length - startB >= count, drainMs),
    ]);
    // A late duplicate would arrive now.
    await sleep(1500);
  } catch {
    drained = false;
  }
  const [la, lb] = await Promise.all([a.logs(), b.logs()]);
  const switchesSince = (p: PeerProcess, from: number) => {
    const t = p.tiers().slice(Math.max(0, from - 1));
    let n = 0;
    for (let i = 1; i < t.length; i++) if (t[i] !== t[i - 1]) n++;
    return n;
  };
  return {
    count,
    rate,
    schedule,
    aToB: compareLogs(la.sent, lb.received, 'A'),
    bToA: compareLogs(lb.sent, la.received, 'B'),
    switches: { A: switchesSince(a, tiersBefore.A), B: switchesSince(b, tiersBefore.B) },
    tiers: { A: a.tiers().join('→'), B: b.tiers().join('→') },
    signaling: {
      A: a
        .all('session-state')
        .map((e) => e.state)
        .join('→'),
      B: b
        .all('session-state')
        .map((e) => e.state)
        .join('→'),
    },
    latencyMs: { aToB: latencies(la, lb), bToA: latencies(lb, la) },
    drained,
    durationS: (Date.now() - t0) / 1000,
    logs: { a: la, b: lb },
  };
}
