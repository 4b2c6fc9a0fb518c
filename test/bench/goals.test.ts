/**
 * The targets the report reads off a run: met at their bound and not past it, not met when the run
 * lacks the figure, and each one naming a case the suite really produces.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseKey, GOALS, readGoals, type Goal } from '../../bench/goals.js';
import { writeReport, type BenchRun } from '../../bench/report.js';
import type { CaseResult, Figure } from '../../bench/suite/scenarios.js';

function figure(value: number, extra: Partial<Figure> = {}): Figure {
  return { value, runs: [value], ...extra };
}

function signaling(stomprtc: number, p99Ms: number): CaseResult {
  return {
    scenario: 'signaling',
    case: 'signaling 100 rooms × 2 peers',
    unit: 'round trips/s',
    figures: { ws: figure(1000, { p99Ms: 10 }), stomprtc: figure(stomprtc, { p99Ms }) },
  };
}

function p2p(ms: number): CaseResult {
  return {
    scenario: 'p2p',
    case: 'P2P join → open channel, 2 peers, a process each (bare wrtc channel 8 ms)',
    unit: 'ms',
    figures: { stomprtc: figure(ms) },
  };
}

const rate: Goal = {
  case: 'signaling 100 rooms × 2 peers',
  target: 'stomprtc',
  measure: 'rate',
  bound: 0.9,
  baseline: 'ws',
};
const p99: Goal = { ...rate, measure: 'p99', bound: 1.5 };
const setUp: Goal = {
  case: 'P2P join → open channel, 2 peers, a process each',
  target: 'stomprtc',
  measure: 'time',
  bound: 40,
};
const memory: Goal = { case: 'sessions 19000 held', target: 'stomprtc', measure: 'memory', bound: 9000 };

describe('bench goals', () => {
  it('are met at their bound and not past it, whichever way the bound points', () => {
    const met = (cases: CaseResult[], goal: Goal) => readGoals(cases, [goal])[0]!;
    expect(met([signaling(900, 15)], rate)).toMatchObject({ value: 0.9, met: true });
    expect(met([signaling(899, 15)], rate)).toMatchObject({ value: 0.899, met: false });
    expect(met([signaling(900, 15)], p99)).toMatchObject({ value: 1.5, met: true });
    expect(met([signaling(900, 15.1)], p99).met).toBe(false);
    // A case named with a figure of its run in parentheses is still the goal's case.
    expect(met([p2p(40)], setUp)).toMatchObject({ value: 40, met: true });
    expect(met([p2p(40.5)], setUp)).toMatchObject({ value: 40.5, met: false });
  });

  it('are not met when the run lacks their figure', () => {
    const sessions = (bytesPerSession: number): CaseResult => ({
      scenario: 'sessions',
      case: 'sessions 19000 held (heart-beat 10 s)',
      unit: 'connects/s',
      figures: { stomprtc: figure(500, { bytesPerSession }) },
    });
    expect(readGoals([], [rate])[0]).toMatchObject({ value: undefined, met: false });
    // RSS noise (report.ts) is no reading of the memory per session, however small.
    expect(readGoals([sessions(0)], [memory])[0]).toMatchObject({ value: undefined, met: false });
    expect(readGoals([sessions(8000)], [memory])[0]).toMatchObject({ value: 8000, met: true });
  });

  it('each read a case of the committed run of the suite', () => {
    const latest = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as BenchRun;
    const cases = new Set(latest.cases.map((c) => caseKey(c.case)));
    expect(GOALS.filter((goal) => !cases.has(goal.case)).map((goal) => goal.case)).toEqual([]);
    expect(readGoals(latest.cases).filter((reading) => reading.value === undefined)).toEqual([]);
  });

  it('appear in benchmarks.md with the figure each was read from and a count of those met', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stomprtc-goals-'));
    const run: BenchRun = {
      date: '2026-01-01T00:00:00.000Z',
      smoke: false,
      node: 'v20',
      cases: [signaling(950, 20), p2p(38)],
      failures: [],
    };
    writeReport(run, dir);
    const markdown = readFileSync(join(dir, 'benchmarks.md'), 'utf8');
    expect(markdown).toContain(`**2 of ${GOALS.length} met**`);
    expect(markdown).toContain('| signaling 100 rooms × 2 peers | stomprtc rate ≥ 0.9× ws | 0.95× | met |');
    expect(markdown).toContain('| signaling 100 rooms × 2 peers | stomprtc p99 ≤ 1.5× ws | 2.00× | **not met** |');
    expect(markdown).toContain(
      '| P2P join → open channel, 2 peers, a process each | stomprtc ≤ 40 ms | 38.0 ms | met |',
    );
    expect(markdown).toContain(
      '| signaling 1000 rooms × 2 peers | stomprtc rate ≥ 0.9× ws | not measured | **not met** |',
    );
  });
});
