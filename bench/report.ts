/**
 * docs/benchmarks.md and its chart (docs/benchmarks.svg) from one run of the suite: a table of
 * absolute figures and ratios, the ratio of each target to the case's baseline (plain `ws`, or
 * RabbitMQ Web-STOMP for the cluster cases), drawn as bars by this file, no chart library.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, Figure } from './suite/scenarios.js';
import type { TargetName } from './suite/targets.js';
import { caseKey, describeGoal, describeValue, readGoals } from './goals.js';

export interface BenchRun {
  date: string;
  smoke: boolean;
  node: string;
  /** The CPU and how many cores (run.ts machineName): ratios move with it, as the figures do. Absent in runs before it was kept. */
  machine?: string;
  cases: CaseResult[];
  failures: string[];
}

const ORDER: TargetName[] = ['ws', 'stomp-floor', 'stomprtc', 'socket.io', 'web-stomp', 'stomprtc-relay'];
const COLOURS: Record<TargetName, string> = {
  ws: '#888888',
  'stomp-floor': '#bcbd22',
  stomprtc: '#1f77b4',
  'socket.io': '#2ca02c',
  'web-stomp': '#ff7f0e',
  'stomprtc-relay': '#9467bd',
};

function baselineOf(result: CaseResult): TargetName | undefined {
  if (result.figures.ws) return 'ws';
  if (result.figures['web-stomp']) return 'web-stomp';
  return undefined;
}

/**
 * Value ratio to the baseline, so that above 1 is always ahead of it: for a cost (instructions) the
 * baseline's over the target's. For memory, the bytes-per-session figure is given beside it.
 */
function ratio(result: CaseResult, target: TargetName): number | undefined {
  const base = baselineOf(result);
  const figure = result.figures[target];
  if (!base || !figure || base === target) return undefined;
  const baseValue = result.figures[base]!.value;
  return result.lowerIsBetter ? baseValue / figure.value : figure.value / baseValue;
}

function round(value: number): string {
  if (value >= 100) return String(Math.round(value));
  return value.toPrecision(3);
}

function cell(result: CaseResult, target: TargetName): string {
  const figure: Figure | undefined = result.figures[target];
  if (!figure) return '';
  const parts = [round(figure.value)];
  const r = ratio(result, target);
  if (r !== undefined) parts.push(`**${r.toFixed(2)}×**`);
  if (figure.p99Ms !== undefined) parts.push(`p99 ${round(figure.p99Ms)} ms`);
  if (figure.cpuUsPerOp !== undefined) {
    const broker = figure.brokerCpuUsPerOp === undefined ? '' : ` (RabbitMQ ${round(figure.brokerCpuUsPerOp)})`;
    parts.push(`cpu ${round(figure.cpuUsPerOp)} µs${broker}`);
  }
  if (figure.loadCpuUsPerOp !== undefined) parts.push(`load ${round(figure.loadCpuUsPerOp)} µs`);
  if (figure.acksPerOp !== undefined) parts.push(`acks ${figure.acksPerOp.toFixed(2)}`);
  // Hundreds of sessions weigh less than the RSS moves between two readings: no figure, not a negative one.
  if (figure.bytesPerSession !== undefined)
    parts.push(figure.bytesPerSession > 0 ? `${(figure.bytesPerSession / 1000).toFixed(1)} kB/session` : 'RSS noise');
  if (figure.heapBytesPerSession !== undefined) parts.push(`heap ${(figure.heapBytesPerSession / 1000).toFixed(1)} kB`);
  if (figure.dropped !== undefined) parts.push(`${figure.dropped} dropped`);
  return parts.join(', ');
}

export function table(run: BenchRun): string {
  const targets = ORDER.filter((t) => run.cases.some((c) => c.figures[t]));
  const lines = [
    `| case | unit | ${targets.join(' | ')} |`,
    `| --- | --- | ${targets.map(() => '---').join(' | ')} |`,
    ...run.cases.map((c) => `| ${c.case} | ${c.unit} | ${targets.map((t) => cell(c, t)).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** The targets of bench/goals.ts against the run: which it met, with the figure each was read from. */
function goalsTable(run: BenchRun): string[] {
  const readings = readGoals(run.cases);
  const met = readings.filter((r) => r.met).length;
  return [
    '## Targets',
    '',
    `The targets stomprtc holds itself to (\`bench/goals.ts\`), read off this run: **${met} of ${readings.length} met**.`,
    'What limits each target a run does not meet, with profiles, is in [performance.md](performance.md).',
    '',
    '| case | target | this run | |',
    '| --- | --- | --- | --- |',
    ...readings.map(
      ({ goal, value, met }) =>
        `| ${goal.case} | ${goal.target} ${describeGoal(goal)} | ${describeValue(goal, value)} | ${met ? 'met' : '**not met**'} |`,
    ),
    '',
  ];
}

const ROW_HEIGHT = 14;
const LABEL_WIDTH = 260;
const BAR_WIDTH = 420;

/** Horizontal bars of each target's ratio to the case's baseline, one group per case. */
export function chart(run: BenchRun): string {
  const cases = run.cases.filter((c) => baselineOf(c));
  const maxRatio = Math.max(1.5, ...cases.flatMap((c) => ORDER.map((t) => ratio(c, t) ?? 0)));
  const scale = BAR_WIDTH / maxRatio;
  const parts: string[] = [];
  let y = 30;
  for (const result of cases) {
    const base = baselineOf(result)!;
    parts.push(`<text x="4" y="${y + 10}" font-weight="bold">${escapeXml(result.case)} (vs ${base})</text>`);
    y += ROW_HEIGHT;
    for (const target of ORDER) {
      const r = ratio(result, target);
      if (r === undefined) continue;
      const width = Math.max(1, r * scale);
      parts.push(`<text x="20" y="${y + 10}">${target}</text>`);
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y + 1}" width="${width.toFixed(1)}" height="${ROW_HEIGHT - 3}" fill="${COLOURS[target]}"/>`,
      );
      parts.push(`<text x="${LABEL_WIDTH + width + 4}" y="${y + 10}">${r.toFixed(2)}×</text>`);
      y += ROW_HEIGHT;
    }
    y += 6;
  }
  const oneX = LABEL_WIDTH + scale;
  const width = LABEL_WIDTH + BAR_WIDTH + 60;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="4" y="14" font-size="13">Ratio to the baseline measured in the same run (1× = baseline; higher is better)</text>`,
    `<line x1="${oneX}" y1="20" x2="${oneX}" y2="${y}" stroke="#444" stroke-dasharray="3,3"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A run of some scenarios replaces their cases in the earlier run's, each in its place, and keeps
 * the others with the date they were measured. A case is known by its name without the parenthesis
 * some names end with (a figure of the run). Without an earlier run, `fresh` as it is, dated.
 */
export function mergeRun(earlier: BenchRun | undefined, fresh: BenchRun): BenchRun {
  const measured = fresh.cases.map((c) => ({ ...c, measuredAt: fresh.date, measuredOn: fresh.machine }));
  const cases = (earlier?.cases ?? []).map(
    (c) =>
      measured.find((m) => caseKey(m.case) === caseKey(c.case)) ?? {
        measuredAt: earlier!.date,
        measuredOn: earlier!.machine,
        ...c,
      },
  );
  cases.push(...measured.filter((m) => !cases.includes(m)));
  return { ...fresh, cases };
}

/**
 * Which rows come from which run, when a run of some scenarios kept the rest of an earlier one: the
 * run most rows come from, then each other run with its rows.
 */
function provenance(run: BenchRun): string[] {
  const byDate = new Map<string, string[]>();
  const machineOf = new Map<string, string | undefined>();
  for (const c of run.cases) {
    const date = c.measuredAt ?? run.date;
    byDate.set(date, [...(byDate.get(date) ?? []), c.case]);
    machineOf.set(date, c.measuredOn);
  }
  if (byDate.size < 2) return [];
  const [main, ...others] = [...byDate].sort((a, b) => b[1].length - a[1].length);
  // Rows measured on another machine than the header names say so: their ratios are that machine's.
  const on = (date: string) => {
    const machine = machineOf.get(date);
    return machine !== undefined && machine !== run.machine ? ` (${machine})` : '';
  };
  return [
    `The rows come from ${byDate.size} runs: ${main![0]}${on(main![0])}, but for these:`,
    ...others.map(([date, cases]) => `- ${date}${on(date)}: ${cases.join('; ')}`),
    '',
  ];
}

/** Writes benchmarks.md and benchmarks.svg into `dir`; returns the table. */
export function writeReport(run: BenchRun, dir: string): string {
  const body = table(run);
  const markdown = [
    '# Benchmarks',
    '',
    `The latest run of \`npm run bench\` (${run.date}, Node ${run.node}${run.smoke ? ', smoke counts' : ''}), on a`,
    `shared machine (${run.machine ?? 'CPU not recorded'}): absolute figures are noisy, the ratios to the`,
    'baseline measured in the same run are what to read, and they move with the machine too: each run',
    'keeps its CPU. Every scenario is its own process (the load generator), and every server under',
    'test a process of its own, one at a time, rounds interleaved; each figure is the median of the rounds.',
    'The per-session rate limit is lifted (`SEND_RATE_PER_S`, `SEND_BURST`) for stomprtc, as a throughput',
    'measurement must. stomprtc runs from its compiled build (`npm run build`), as users run it, server',
    'and client alike (bench/compiled.ts); the one exception is the row of peers in network namespaces,',
    "which drives the tests' namespace world from the sources. Every target is measured warm: an untimed",
    'tenth of each fan-out run, and of each round of round trips, goes first. Raw results: `bench/results/`.',
    '',
    '- **ws**: a plain `ws` server doing the same work (a broadcast loop over the subscribers of a topic,',
    '  a forward by socket id); **socket.io**: Socket.IO 4 rooms, websocket transport; **web-stomp**:',
    '  RabbitMQ Web-STOMP on a private node of the run; **stomprtc-relay**: two stomprtc nodes relaying',
    '  through that RabbitMQ node (subscribers and peers split across both), against Web-STOMP;',
    '  **stomp-floor** (round trips only): the least a STOMP server can do, a plain `ws` server that reads',
    "  the load generator's STOMP frames and sends back the very frames stomprtc sends, with no checks, no",
    '  rooms and no parsing beyond what routing needs. Its distance from ws is the cost of STOMP on the',
    "  wire; stomprtc's distance from it is the cost of stomprtc's own work.",
    '- Fan-out: one publisher, windows of messages, the next window when every subscriber has the last;',
    '  p99 is publish-to-delivery. Signaling: pairs in rooms of their own, offer, answer and 10',
    '  candidates (6 round trips) through `/app/signal`, all pairs at once, 72,000 round trips a round',
    '  (120 exchanges of 100 pairs, 12 of 1,000), the RabbitMQ relay too. Relay chat: the same',
    '  ping-pong of 100 B through `/app/relay`, 72,000 round trips a round. Sessions: connected 200',
    '  at a time, held with 10 s heart-beats, server RSS per session after a full collection, sessions',
    '  the server closed ("RSS noise": the sessions weighed less than RSS moves between two readings).',
    "  heap: the part of it in V8's heap and external memory (Node servers only), which the C allocator's",
    '  leftovers from the connect storm do not move: RSS per session of one stomprtc build has read 6.5',
    '  to 9.5 kB, its heap 3.55 kB each time.',
    "- cpu: the server's CPU time (user + system, all its threads; with RabbitMQ's node for web-stomp and",
    '  the relay, whose work it is) per delivery or round trip over the timed part, read from',
    "  `/proc/<pid>/stat`: the server's own cost per message, apart from how fast the load generator goes;",
    "  for stomprtc-relay, RabbitMQ's part is in brackets. load: the load generator's own CPU time per",
    '  delivery or round trip. The load generator and the servers share the 2 cores, so no rate can pass',
    '  2 s of CPU over the sum of cpu and load per operation. acks: TCP segments without data (pure',
    '  ACKs, nearly all) the kernel sent per delivery or round trip, both ends of every loopback connection',
    '  counted, from its own counters (`bench/suite/tcp-counters.ts`). Linux lets an ACK ride on the reply',
    '  when the application answers within the delayed-ACK timeout (40 ms at least); a server that is the',
    '  slower end of a loop of 1,000 pairs answers later, and each message it receives costs one more',
    '  segment, sent and received inside its system calls ([performance.md](performance.md)).',
    '- P2P: join → open data channel, timed at the later joiner of each link, rooms joined one peer',
    '  after another (the last of 6 opens 5 links at once), with every peer a process of its own (as',
    '  the members of a real room run on machines of their own) and with all of them in one process,',
    "  where the synchronous parts of @roamhq/wrtc's calls queue behind each other. Peers are Node",
    '  clients on loopback with @roamhq/wrtc; the bare channel is two RTCPeerConnections in one process',
    '  handing each other their descriptions and candidates directly. Each room size is timed after an',
    '  untimed first join, as everything here is measured warm; the first join of new peer processes',
    "  (modules, JIT and @roamhq/wrtc's first peer connections all cold) has a row of its own.",
    "- Server instructions: the same round trips with each server under Valgrind's callgrind, which",
    "  counts the instructions the server runs in user space (the kernel's socket work, the same for",
    '  every server, is left out), after an untimed warm-up, in three windows of counted exchanges; the',
    '  figure is their median (a window that a major collection falls into reads high). It moves less',
    '  than the rates, but it moves: what a server runs per message depends on how many messages it',
    '  finds at each wakeup, which depends on timing. On one Intel Xeon machine the floor read 77,454',
    '  to 78,699 per signaling round trip in six runs, while ws read 63,923 and 91,020 in two runs of',
    '  the suite. It moves with the CPU too (the floor read 78,241 on an AMD EPYC). It is a cost, so',
    "  the ratio is the baseline's count over the target's: above 1 is ahead.",
    '  `npm run bench:profile -- signal` (or `relay`) shows where they go, function by function, beside',
    '  ws or, with `--against stomp-floor`, beside the floor. Instructions are not time: tight loops',
    '  run many to a cycle, memory that is not in cache few. Sampled by `perf` on an AMD EPYC after the',
    "  warm-up, decoding the SEND frames took 5 % of stomprtc's CPU time on signaling, though 14 % of",
    "  its instructions, and the kernel's socket work, which callgrind leaves out, took 32 %.",
    '',
    ...provenance(run),
    body,
    '',
    ...(run.failures.length > 0
      ? ['Scenarios that failed in this run:', '', ...run.failures.map((f) => `- ${f}`), '']
      : []),
    '![Ratios to the baseline](benchmarks.svg)',
    '',
    ...goalsTable(run),
  ].join('\n');
  writeFileSync(join(dir, 'benchmarks.md'), markdown);
  writeFileSync(join(dir, 'benchmarks.svg'), chart(run));
  return body;
}
