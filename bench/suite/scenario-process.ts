/**
 * The load generator of one scenario, in a process of its own (bench/run.ts spawns one per
 * scenario; the servers it measures are processes of their own too). Argument: the scenario as
 * JSON. Prints one line `RESULT <json>` per case.
 */
import { fanout, instructions, roundTrips, sessions, type CaseResult } from './scenarios.js';
import type { TargetName } from './targets.js';

export interface ScenarioSpec {
  kind: 'fanout' | 'roundtrip' | 'sessions' | 'instructions';
  targets: TargetName[];
  rounds: number;
  params: Record<string, unknown>;
}

const spec = JSON.parse(process.argv[2]!) as ScenarioSpec;
let result: CaseResult;
if (spec.kind === 'fanout') result = await fanout(spec.targets, spec.rounds, spec.params as never);
else if (spec.kind === 'roundtrip') result = await roundTrips(spec.targets, spec.rounds, spec.params as never);
else if (spec.kind === 'instructions') result = await instructions(spec.targets, spec.params as never);
else result = await sessions(spec.targets, spec.rounds, spec.params as never);
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
