/**
 * The report of a run of some scenarios: their cases replace the earlier run's in place, the others
 * keep the date they were measured, and benchmarks.md says which rows come from which run.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeRun, writeReport, type BenchRun } from '../../bench/report.js';
import type { CaseResult } from '../../bench/suite/scenarios.js';

function result(name: string, stomprtc: number): CaseResult {
  return {
    scenario: 'fanout',
    case: name,
    unit: 'deliveries/s',
    figures: { ws: { value: 100, runs: [100] }, stomprtc: { value: stomprtc, runs: [stomprtc] } },
  };
}

function run(date: string, cases: CaseResult[]): BenchRun {
  return { date, smoke: false, node: 'v20', cases, failures: [] };
}

const full = run('2026-01-01T00:00:00.000Z', [
  result('fan-out 10 subs', 110),
  result('P2P join (bare wrtc channel 9 ms)', 120),
  result('signaling', 130),
]);

describe('bench report of a partial run', () => {
  it('replaces the cases it measured in their places and dates every case', () => {
    const merged = mergeRun(full, run('2026-01-02T00:00:00.000Z', [result('P2P join (bare wrtc channel 7 ms)', 90)]));
    expect(merged.cases.map((c) => [c.case, c.figures.stomprtc!.value, c.measuredAt])).toEqual([
      ['fan-out 10 subs', 110, '2026-01-01T00:00:00.000Z'],
      ['P2P join (bare wrtc channel 7 ms)', 90, '2026-01-02T00:00:00.000Z'],
      ['signaling', 130, '2026-01-01T00:00:00.000Z'],
    ]);
    expect(merged.date).toBe('2026-01-02T00:00:00.000Z');
  });

  it('adds a case the earlier run did not have at the end', () => {
    const merged = mergeRun(full, run('2026-01-02T00:00:00.000Z', [result('relay chat', 80)]));
    expect(merged.cases.map((c) => c.case)).toEqual([
      'fan-out 10 subs',
      'P2P join (bare wrtc channel 9 ms)',
      'signaling',
      'relay chat',
    ]);
  });

  it('says which rows come from a later run, and nothing when all come from one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stomprtc-report-'));
    writeReport(mergeRun(full, run('2026-01-02T00:00:00.000Z', [result('signaling', 95)])), dir);
    const markdown = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
    expect(markdown).toContain(
      'The rows come from 2 runs: 2026-01-01T00:00:00.000Z, but for these:\n- 2026-01-02T00:00:00.000Z: signaling\n',
    );
    expect(markdown).toContain('| signaling | deliveries/s | 100 | 95.0, **0.95×** |');

    writeReport(mergeRun(undefined, full), dir);
    expect(readFileSync(join(dir, 'benchmarks.md'), 'utf8')).not.toContain('The rows come from');
  });

  it('names the machine of the run, and of rows measured on another one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stomprtc-report-'));
    const earlier = { ...full, machine: 'Intel Xeon, 2 cores' };
    const later = { ...run('2026-01-02T00:00:00.000Z', [result('signaling', 95)]), machine: 'AMD EPYC, 2 cores' };
    const merged = mergeRun(earlier, later);
    expect(merged.cases.map((c) => c.measuredOn)).toEqual([
      'Intel Xeon, 2 cores',
      'Intel Xeon, 2 cores',
      'AMD EPYC, 2 cores',
    ]);
    writeReport(merged, dir);
    const markdown = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
    expect(markdown).toContain('on a\nshared machine (AMD EPYC, 2 cores):');
    expect(markdown).toContain(
      'The rows come from 2 runs: 2026-01-01T00:00:00.000Z (Intel Xeon, 2 cores), but for these:\n' +
        '- 2026-01-02T00:00:00.000Z: signaling\n',
    );

    // Rows of one machine name none: the header has it.
    writeReport(mergeRun({ ...full, machine: 'AMD EPYC, 2 cores' }, later), dir);
    expect(readFileSync(join(dir, 'benchmarks.md'), 'utf8')).toContain(
      'The rows come from 2 runs: 2026-01-01T00:00:00.000Z, but for these:\n- 2026-01-02T00:00:00.000Z: signaling\n',
    );
  });
});
