/**
 * Fallback benchmark (issue 4), over real network failure: peers in two network namespaces, a real
 * server and a real coturn (see test/helpers/fallback-world.ts). Needs root, iproute2 and coturn.
 *
 *   npx tsx bench/fallback.ts [--runs 5] [--quick] [--json]
 *
 * Prints:
 *   - time from join to the first delivered message (relay-first: the joiner sends the moment
 *     join() resolves, long before any data channel exists), median of --runs;
 *   - time from join to the link reporting p2p (direct veth) and turn (coturn only), medians;
 *   - time until a link with no path and no TURN settles on relay (one run: it waits for ICE);
 *   - time until a WebRTC peer's link toward a relay-only peer settles on relay (it reads the
 *     relay-only flag of the hello instead of waiting for ICE), median of --runs;
 *   - lost and duplicated messages over the switching run (must be 0), its path switches and
 *     delivery latency.
 * --quick: a shorter switching run (600 each way at 30/s, one 8 s and one 45 s cut, two drops).
 * Exits 1 when any message was lost or duplicated.
 */
import { parseArgs } from 'node:util';
import { netnsUnavailableReason } from '../test/helpers/netns.js';
import { coturnUnavailableReason } from '../test/helpers/coturn.js';
import {
  createWorld,
  switchingRun,
  type PeerProcess,
  type SwitchingOptions,
  type World,
} from '../test/helpers/fallback-world.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
const quick = values.quick;

const unavailable = (await netnsUnavailableReason()) ?? (await coturnUnavailableReason());
if (unavailable) {
  console.error(`bench/fallback: cannot run: ${unavailable}`);
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};

async function withWorld<T>(options: { direct?: boolean; turn?: boolean }, body: (w: World) => Promise<T>): Promise<T> {
  const world = await createWorld(options);
  try {
    return await body(world);
  } finally {
    await world.close();
  }
}

interface JoinTiming {
  firstMessageMs: number;
  tierMs: number;
}

/** A is in the room; B joins and sends at once. Times are from B's join() call. */
async function joinRun(
  options: { direct?: boolean; turn?: boolean; aRelayOnly?: boolean },
  tier: string,
  tierTimeoutMs: number,
): Promise<JoinTiming> {
  return withWorld(options, async (world) => {
    const room = `bench-${Math.random().toString(36).slice(2, 8)}`;
    const a = await world.startPeer('a', { room, name: 'A', relayOnly: options.aRelayOnly === true });
    const b = await world.startPeer('b', { room, name: 'B', sendOnJoin: true });
    const ready = await b.waitFor('ready');
    const first = await a.waitFor('message', (m) => m.data === 'B-0001', 10_000);
    const reached = await b.waitFor('link-state', (e) => e.state === tier, tierTimeoutMs);
    return { firstMessageMs: first.t - ready.joinStartedAt, tierMs: reached.t - ready.joinStartedAt };
  });
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(52)} ${value}`;
}

const results: Record<string, unknown> = {};

const p2p: JoinTiming[] = [];
for (let i = 0; i < runs; i++) p2p.push(await joinRun({ direct: true }, 'p2p', 30_000));
const turn: JoinTiming[] = [];
for (let i = 0; i < runs; i++) turn.push(await joinRun({ turn: true }, 'turn', 30_000));
const relay = await joinRun({}, 'relay', 60_000);
const towardRelayOnly: JoinTiming[] = [];
for (let i = 0; i < runs; i++) towardRelayOnly.push(await joinRun({ direct: true, aRelayOnly: true }, 'relay', 30_000));

results.joinToFirstMessageMs = {
  median: median([...p2p, ...turn].map((r) => r.firstMessageMs)),
  runs: [...p2p, ...turn].map((r) => r.firstMessageMs),
};
results.joinToP2pMs = { median: median(p2p.map((r) => r.tierMs)), runs: p2p.map((r) => r.tierMs) };
results.joinToTurnMs = { median: median(turn.map((r) => r.tierMs)), runs: turn.map((r) => r.tierMs) };
results.joinToRelaySettledMs = relay.tierMs;
results.joinToFirstMessageNoPathMs = relay.firstMessageMs;
results.joinToRelayTowardRelayOnlyMs = {
  median: median(towardRelayOnly.map((r) => r.tierMs)),
  runs: towardRelayOnly.map((r) => r.tierMs),
};

const switching: SwitchingOptions = quick
  ? {
      count: 600,
      rate: 30,
      cuts: [
        { at: 2_000, for: 8_000 },
        { at: 12_000, for: 45_000 },
      ],
      drops: [
        { at: 5_000, side: 'a' },
        { at: 15_000, side: 'b' },
      ],
    }
  : {};
const report = await withWorld({ direct: true }, async (world) => {
  const room = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const a: PeerProcess = await world.startPeer('a', { room, name: 'A' });
  const b: PeerProcess = await world.startPeer('b', { room, name: 'B' });
  await Promise.all([
    a.waitFor('link-state', (e) => e.state === 'p2p'),
    b.waitFor('link-state', (e) => e.state === 'p2p'),
  ]);
  return switchingRun(world, a, b, switching);
});
const { logs: _logs, ...summary } = report;
results.switching = summary;

const lost = report.aToB.lost + report.bToA.lost;
const duplicated = report.aToB.duplicated + report.bToA.duplicated;
console.log('stomprtc fallback bench (netns + coturn, @roamhq/wrtc peers)');
console.log(
  row(
    `join → first delivered message, relay-first (median of ${runs * 2})`,
    `${(results.joinToFirstMessageMs as { median: number }).median} ms`,
  ),
);
console.log(
  row(`join → link p2p, direct veth (median of ${runs})`, `${(results.joinToP2pMs as { median: number }).median} ms`),
);
console.log(
  row(`join → link turn, coturn only (median of ${runs})`, `${(results.joinToTurnMs as { median: number }).median} ms`),
);
console.log(row('join → link settles on relay, no path, no TURN', `${relay.tierMs} ms`));
console.log(
  row(
    `join → link relay toward a relay-only peer (median of ${runs})`,
    `${(results.joinToRelayTowardRelayOnlyMs as { median: number }).median} ms`,
  ),
);
console.log(
  row(`switching run: ${report.count} msgs each way at ${report.rate}/s`, `${report.durationS.toFixed(1)} s`),
);
console.log(row('  lost (A→B + B→A)', `${lost}${lost ? '  ← MUST BE 0' : ''}`));
console.log(row('  duplicated (A→B + B→A)', `${duplicated}${duplicated ? '  ← MUST BE 0' : ''}`));
console.log(
  row(
    '  out of order',
    `${report.aToB.exact && report.bToA.exact ? 'no' : lost || duplicated ? 'n/a' : 'YES ← MUST NOT'}`,
  ),
);
console.log(row('  path switches seen by A / B', `${report.switches.A} / ${report.switches.B}`));
console.log(
  row(
    '  delivery latency A→B p50 / p99 / max',
    `${report.latencyMs.aToB.p50} / ${report.latencyMs.aToB.p99} / ${report.latencyMs.aToB.max} ms`,
  ),
);
console.log(
  row(
    '  delivery latency B→A p50 / p99 / max',
    `${report.latencyMs.bToA.p50} / ${report.latencyMs.bToA.p99} / ${report.latencyMs.bToA.max} ms`,
  ),
);
console.log(JSON.stringify(results));
process.exit(lost || duplicated || !report.aToB.exact || !report.bToA.exact ? 1 : 0);
