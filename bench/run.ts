/**
 * `npm run bench`: the suite. Each scenario runs as its own bounded process (the load generator,
 * bench/suite/scenario-process.ts), which starts each server under test as a process of its own,
 * one at a time, rounds interleaved, medians of 3. Targets: stomprtc, a plain `ws` server doing
 * the same work, Socket.IO 4 and RabbitMQ Web-STOMP on a private node started for the run (with
 * two stomprtc nodes relaying through that node for the cluster cases). The signaling and relay
 * round trips are run once more with each server under callgrind, which counts its instructions per
 * round trip (bench/suite/callgrind.ts). Results go to bench/results/ as JSON, and
 * docs/benchmarks.md with its chart is written from them.
 *
 * `npm run bench -- --smoke` runs every scenario with tiny counts and one round (the test suite
 * does, to keep the benchmark working); `--out <dir>` writes the results there instead.
 * `npm run bench -- fanout sessions` runs only the scenarios whose names start so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  privateRabbitMqMissing,
  startPrivateRabbitMq,
  type PrivateRabbitMq,
} from '../test/helpers/private-rabbitmq.js';
import { callgrindMissing } from './suite/callgrind.js';
import { ROUND_TRIPS_PER_EXCHANGE, type CaseResult, type RoundTripParams } from './suite/scenarios.js';
import type { ScenarioSpec } from './suite/scenario-process.js';
import type { TargetName } from './suite/targets.js';
import { mergeRun, writeReport, type BenchRun } from './report.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? args[outIndex + 1]! : undefined;
const only = args.filter((a, i) => !a.startsWith('--') && (outIndex < 0 || i !== outIndex + 1));

/** A scenario process is stopped when it runs longer than this (each is bounded well below it). */
const SCENARIO_TIMEOUT_MS = smoke ? 120_000 : 900_000;
const ROUNDS = smoke ? 1 : 3;
/**
 * Round trips each signaling or relay-chat round times: 12 exchanges of 1,000 pairs, 120 of 100.
 * A round of 1,800 (3 exchanges of 100 pairs) lasted under a tenth of a second, which the last slow
 * pairs, not the servers, decided. Rounds of 18,000, with one exchange per pair untimed before
 * them, still timed part of every server's warm-up: at 100 rooms on an AMD EPYC of 2 cores, the
 * server CPU per round trip read 48–49 µs for ws and 63–64 µs for stomprtc in such rounds, 43–46 µs
 * and 57 µs in rounds of 72,000 after a tenth as many untimed; ws's p99 read 17.8 ms, then 9.7 ms.
 */
const ROUND_TRIPS_PER_ROUND = 72_000;
/** The file limit here is 20,000 per process; a few hundred stay free for the process itself. */
const SESSIONS = smoke ? 50 : 19_000;
/**
 * The private RabbitMQ node runs under `su`, whose PAM limits give it 1,024 open files: Web-STOMP
 * holds about 800 sockets, so Web-STOMP is measured only where a case needs fewer connections.
 */
const WEB_STOMP_MAX_CONNECTIONS = 700;
const WEB_STOMP_SESSIONS = smoke ? 50 : WEB_STOMP_MAX_CONNECTIONS;

interface Planned {
  name: string;
  spec?: ScenarioSpec;
  script?: string;
  args?: string[];
  /** Put before each case's name in the table. */
  prefix?: string;
  env?: Record<string, string>;
  parse?: (stdout: string) => CaseResult[];
  /**
   * Runs it once more when it dies of SIGSEGV: @roamhq/wrtc can crash a process whose peer
   * connections close (bench/join-to-channel.ts), and the crash says nothing of what was measured.
   */
  rerunOnNativeCrash?: boolean;
}

/**
 * Every round times ROUND_TRIPS_PER_ROUND, however many pairs share them, after a tenth as many
 * untimed (as the fan-out's untimed tenth): each server is measured warm.
 */
function roundTripParams(pairs: number, path: RoundTripParams['path']) {
  const exchanges = smoke ? 1 : ROUND_TRIPS_PER_ROUND / (pairs * ROUND_TRIPS_PER_EXCHANGE);
  return { pairs, exchanges, warmExchanges: Math.ceil(exchanges / 10), path };
}

function plan(rabbit: boolean, callgrind: boolean): Planned[] {
  const local: TargetName[] = ['ws', 'stomprtc', 'socket.io'];
  const all = (connections: number): TargetName[] =>
    rabbit && connections <= WEB_STOMP_MAX_CONNECTIONS ? [...local, 'web-stomp'] : local;
  const deliveries = smoke ? 200 : 60_000;
  const planned: Planned[] = [];
  for (const subscribers of smoke ? [10] : [10, 100, 1_000]) {
    for (const bodyBytes of smoke ? [200, 2_048] : [200, 2_048]) {
      planned.push({
        name: `fanout-${subscribers}-${bodyBytes}`,
        spec: {
          kind: 'fanout',
          targets: all(subscribers + 1),
          rounds: ROUNDS,
          params: { subscribers, bodyBytes, deliveries },
        },
      });
    }
  }
  for (const pairs of smoke ? [5] : [100, 1_000]) {
    planned.push({
      name: `signaling-${pairs}`,
      spec: {
        kind: 'roundtrip',
        targets: [...all(pairs * 2), 'stomp-floor'],
        rounds: ROUNDS,
        params: roundTripParams(pairs, '/app/signal'),
      },
    });
  }
  planned.push({
    name: 'relay-chat',
    spec: {
      kind: 'roundtrip',
      targets: [...local, 'stomp-floor'],
      rounds: ROUNDS,
      params: roundTripParams(smoke ? 5 : 1_000, '/app/relay'),
    },
  });
  // The same round trips, each server under callgrind: its cost per round trip, apart from the host's speed.
  if (callgrind) {
    for (const path of ['/app/signal', '/app/relay'] as const) {
      planned.push({
        name: `instructions-${path === '/app/signal' ? 'signaling' : 'relay-chat'}`,
        spec: {
          kind: 'instructions',
          targets: [...local, 'stomp-floor'],
          rounds: 1,
          params: { pairs: smoke ? 5 : 200, exchanges: smoke ? 1 : 5, warmExchanges: smoke ? 1 : 10, path },
        },
      });
    }
  }
  const held = { holdMs: smoke ? 200 : 16_000, heartBeatMs: 10_000 };
  planned.push({
    name: 'sessions',
    spec: {
      kind: 'sessions',
      targets: ['ws', 'stomprtc', 'socket.io'],
      rounds: ROUNDS,
      params: { sessions: SESSIONS, ...held },
    },
  });
  if (rabbit) {
    planned.push({
      name: 'sessions-web-stomp',
      spec: {
        kind: 'sessions',
        targets: ['ws', 'stomprtc', 'web-stomp'],
        rounds: ROUNDS,
        params: { sessions: WEB_STOMP_SESSIONS, ...held },
      },
    });
    planned.push({
      name: 'cluster-fanout',
      prefix: 'RabbitMQ relay, 2 nodes: ',
      spec: {
        kind: 'fanout',
        targets: ['web-stomp', 'stomprtc-relay'],
        rounds: ROUNDS,
        params: { subscribers: smoke ? 10 : 100, bodyBytes: 200, deliveries: smoke ? 200 : 60_000 },
      },
    });
    planned.push({
      name: 'cluster-signaling',
      prefix: 'RabbitMQ relay, 2 nodes: ',
      spec: {
        kind: 'roundtrip',
        targets: ['web-stomp', 'stomprtc-relay'],
        rounds: ROUNDS,
        params: roundTripParams(smoke ? 5 : 100, '/app/signal'),
      },
    });
  }
  planned.push({
    name: 'p2p-join-to-channel',
    script: 'bench/join-to-channel.ts',
    env: { BENCH_RUNS: smoke ? '1' : '5' },
    rerunOnNativeCrash: true,
    parse: (stdout) => {
      const json = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
        bareChannelMsMedian: number;
        rooms: Record<string, { joinToChannelMsMedian: number; runs: number[] }>;
        joinToFirstMessage: { msMedian: number; runs: number[] };
      };
      return [
        ...Object.entries(json.rooms).map(([size, room]) => ({
          scenario: 'p2p',
          case: `P2P join → open channel, ${size} (bare wrtc channel ${json.bareChannelMsMedian} ms)`,
          unit: 'ms',
          figures: { stomprtc: { value: room.joinToChannelMsMedian, runs: room.runs } },
        })),
        {
          scenario: 'p2p',
          case: 'P2P join → first message, 2 peers on loopback (relay-first)',
          unit: 'ms',
          figures: { stomprtc: { value: json.joinToFirstMessage.msMedian, runs: json.joinToFirstMessage.runs } },
        },
      ];
    },
  });
  if (!smoke) {
    planned.push({
      name: 'p2p-fallback',
      script: 'bench/fallback.ts',
      args: ['--quick', '--runs', '3'],
      parse: (stdout) => {
        const lines = stdout.trim().split('\n');
        const json = JSON.parse(lines[lines.length - 1]!) as {
          joinToFirstMessageMs: { median: number; runs: number[] };
        };
        return [
          {
            scenario: 'p2p',
            case: 'P2P join → first message, peer processes in network namespaces (relay-first)',
            unit: 'ms',
            figures: { stomprtc: { value: json.joinToFirstMessageMs.median, runs: json.joinToFirstMessageMs.runs } },
          },
        ];
      },
    });
  }
  // Benchmarks of their own, printed as they report (no table row): the cluster's rooms across nodes and the E2E relay.
  if (!smoke) for (const name of ['cluster-rooms', 'e2e-relay']) planned.push({ name, script: `bench/${name}.ts` });
  return planned.filter((p) => only.length === 0 || only.some((o) => p.name.startsWith(o)));
}

function runOne(planned: Planned, rabbit: PrivateRabbitMq | undefined): CaseResult[] {
  const env = {
    ...process.env,
    ...planned.env,
    ...(rabbit
      ? {
          BENCH_RABBIT_STOMP_URL: rabbit.stompUrl,
          BENCH_RABBIT_WEB_STOMP_URL: rabbit.webStompUrl!,
          BENCH_RABBIT_NODE: rabbit.nodeName,
        }
      : {}),
  };
  const argv = planned.spec
    ? ['--import', 'tsx', 'bench/suite/scenario-process.ts', JSON.stringify(planned.spec)]
    : ['--import', 'tsx', planned.script!, ...(planned.args ?? [])];
  const spawnScenario = () =>
    spawnSync(process.execPath, argv, {
      env,
      encoding: 'utf8',
      timeout: SCENARIO_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  let child = spawnScenario();
  if (child.signal === 'SIGSEGV' && planned.rerunOnNativeCrash) {
    console.error(`${planned.name} died of SIGSEGV (@roamhq/wrtc, see bench/join-to-channel.ts): running it again`);
    child = spawnScenario();
  }
  if (child.status !== 0)
    throw new Error(`${planned.name} failed (status ${child.status}, ${child.signal ?? 'no signal'})`);
  if (planned.script && !planned.parse) {
    process.stderr.write(child.stdout);
    return [];
  }
  const cases = planned.parse
    ? planned.parse(child.stdout)
    : child.stdout
        .split('\n')
        .filter((line) => line.startsWith('RESULT '))
        .map((line) => JSON.parse(line.slice(7)) as CaseResult);
  return cases.map((c) => ({ ...c, case: `${planned.prefix ?? ''}${c.case}` }));
}

// The suite measures stomprtc's compiled build (bench/suite/server-process.ts); tsc -b redoes only what changed.
if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0) {
  throw new Error('npm run build failed: the benchmark needs the compiled server');
}
const rabbitMissing = privateRabbitMqMissing();
const rabbit = rabbitMissing ? undefined : await startPrivateRabbitMq({ webStomp: true });
if (rabbitMissing) console.error(`RabbitMQ Web-STOMP and the relay cases are left out: ${rabbitMissing}`);
const valgrindMissing = callgrindMissing();
if (valgrindMissing) console.error(`The server instruction counts are left out: ${valgrindMissing}`);
const results: CaseResult[] = [];
const failures: string[] = [];
try {
  for (const planned of plan(rabbit !== undefined, valgrindMissing === undefined)) {
    const started = performance.now();
    try {
      const cases = runOne(planned, rabbit);
      results.push(...cases);
      console.error(`${planned.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      failures.push((err as Error).message);
      console.error((err as Error).message);
    }
  }
} finally {
  await rabbit?.stop();
}

/** The CPU model and core count: the same build reads other ratios on another CPU. */
function machineName(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores`;
}

const dir = outDir ?? 'bench/results';
mkdirSync(dir, { recursive: true });
const latest = join(dir, 'latest.json');
const earlier =
  only.length > 0 && existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as BenchRun) : undefined;
const run = mergeRun(earlier, {
  date: new Date().toISOString(),
  smoke,
  node: process.version,
  machine: machineName(),
  cases: results,
  failures,
});
if (!smoke) writeFileSync(join(dir, `${run.date.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(run, null, 2)}\n`);
const table = writeReport(run, outDir ?? 'docs');
console.log(table);
process.exit(failures.length > 0 ? 1 : 0);
