/**
 * `npm run bench:profile -- [signal|relay] [--against ws|stomp-floor] [--pairs N] [--exchanges N]
 * [--top N] [--out DIR]`: where stomprtc's server spends the instructions of a round trip, beside a
 * plain `ws` server doing the same work (default), or beside `stomp-floor`, which puts the same STOMP
 * frames on the wire and does nothing else (bench/suite/server-process.ts).
 * It runs the round trips of the "server instructions per round trip" rows (bench/suite/scenarios.ts
 * instructions()) with each server under callgrind, keeps the dumps and V8's map of the JIT code,
 * and prints, per round trip, the functions by their own instructions (callees not included): first
 * where stomprtc runs more than `ws`, then stomprtc's own top. The window read is the median of the
 * three counted ones, as in the benchmark. Needs valgrind (Debian package valgrind).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { named, PerfMap, selfCosts } from './suite/callgrind-profile.js';
import { callgrindMissing } from './suite/callgrind.js';
import { instructions, ROUND_TRIPS_PER_EXCHANGE } from './suite/scenarios.js';
import type { TargetName } from './suite/targets.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: 'string', default: '200' },
    exchanges: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
    against: { type: 'string', default: 'ws' },
    out: { type: 'string' },
  },
});
const path = positionals[0] === 'relay' ? '/app/relay' : '/app/signal';
const pairs = Number(values.pairs);
const exchanges = Number(values.exchanges);
const top = Number(values.top);
const out = values.out ?? mkdtempSync(join(tmpdir(), 'stomprtc-profile-'));
if (values.against !== 'ws' && values.against !== 'stomp-floor') {
  console.error(`bench/profile: --against is ws or stomp-floor, not ${values.against}`);
  process.exit(2);
}
const against: TargetName = values.against;
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

const missing = callgrindMissing();
if (missing) {
  console.error(`bench/profile: cannot run: ${missing}`);
  process.exit(2);
}

// stomprtc is measured from its compiled build, as in the benchmark.
if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0) {
  console.error('bench/profile: the build failed');
  process.exit(1);
}

const targets: TargetName[] = [against, 'stomprtc'];
const result = await instructions(targets, { pairs, exchanges, warmExchanges: 10, path, profileDir: out });
const roundTrips = pairs * exchanges * ROUND_TRIPS_PER_EXCHANGE;

/** The median window's cost per function, per round trip. */
function perRoundTrip(target: TargetName): Map<string, number> {
  const figure = result.figures[target]!;
  const dump = figure.runs.indexOf(figure.value) + 1;
  const dir = join(out, target);
  const costs = named(
    selfCosts(readFileSync(join(dir, `out.${dump}`), 'utf8')),
    new PerfMap(readFileSync(join(dir, 'perf.map'), 'utf8')),
    root,
  );
  return new Map([...costs].map(([name, cost]) => [name, cost / roundTrips]));
}

const ours = perRoundTrip('stomprtc');
const base = perRoundTrip(against);
const n = (value: number) => Math.round(value).toLocaleString('en-US');
const row = (name: string) => {
  const a = ours.get(name) ?? 0;
  const b = base.get(name) ?? 0;
  const difference = (a >= b ? '+' : '') + n(a - b);
  return `${n(a).padStart(9)} ${n(b).padStart(9)} ${difference.padStart(9)}  ${name.slice(0, 110)}`;
};
const what = path === '/app/signal' ? 'signaling' : 'relay chat';
console.log(
  `${result.case}: ${against} ${n(result.figures[against]!.value)}, stomprtc ${n(result.figures.stomprtc!.value)}; dumps in ${out}`,
);
console.log(
  `\nWhere stomprtc runs more than ${against}, per ${what} round trip (stomprtc, ${against}, difference, function):`,
);
const names = [...new Set([...ours.keys(), ...base.keys()])];
const byDifference = names.sort(
  (x, y) => (ours.get(y) ?? 0) - (base.get(y) ?? 0) - ((ours.get(x) ?? 0) - (base.get(x) ?? 0)),
);
for (const name of byDifference.slice(0, top)) console.log(row(name));
console.log(`\nstomprtc's own top, per round trip (stomprtc, ${against}, difference, function):`);
const byCost = [...ours.keys()].sort((x, y) => ours.get(y)! - ours.get(x)!);
for (const name of byCost.slice(0, top)) console.log(row(name));
process.exit(0);
