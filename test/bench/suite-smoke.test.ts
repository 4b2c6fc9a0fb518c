/**
 * The benchmark suite with tiny counts and one round (`npm run bench -- --smoke`): every scenario
 * runs, against every target, and gives well-formed figures. No figure is judged here — speed and
 * memory are read from `npm run bench`, never asserted in a test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/requirements.js';
import { privateRabbitMqMissing } from '../helpers/private-rabbitmq.js';
import { callgrindMissing } from '../../bench/suite/callgrind.js';
import type { BenchRun } from '../../bench/report.js';
import { caseKey } from '../../bench/goals.js';

const out = mkdtempSync(join(tmpdir(), 'stomprtc-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.once('exit', resolve));
}

describeWith(privateRabbitMqMissing() ?? callgrindMissing(), 'benchmark suite smoke', () => {
  it('runs every scenario against every target and writes well-formed results, table and chart', async () => {
    expect(await runSmoke()).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchRun;
    expect(run.failures).toEqual([]);
    const targetsOf = (name: string) =>
      run.cases.filter((c) => c.case.startsWith(name)).map((c) => Object.keys(c.figures).sort());
    expect(targetsOf('fan-out')).toEqual([
      ['socket.io', 'stomprtc', 'web-stomp', 'ws'],
      ['socket.io', 'stomprtc', 'web-stomp', 'ws'],
    ]);
    expect(targetsOf('signaling')).toEqual([['socket.io', 'stomp-floor', 'stomprtc', 'web-stomp', 'ws']]);
    expect(targetsOf('relay chat')).toEqual([['socket.io', 'stomp-floor', 'stomprtc', 'ws']]);
    expect(targetsOf('sessions')).toEqual([
      ['socket.io', 'stomprtc', 'ws'],
      ['stomprtc', 'web-stomp', 'ws'],
    ]);
    expect(targetsOf('RabbitMQ relay, 2 nodes: ')).toEqual([
      ['stomprtc-relay', 'web-stomp'],
      ['stomprtc-relay', 'web-stomp'],
    ]);
    // The relay's CPU is split: RabbitMQ's node is part of it, the two stomprtc nodes the rest.
    for (const relayed of run.cases.filter((c) => c.figures['stomprtc-relay'])) {
      const { cpuUsPerOp, brokerCpuUsPerOp } = relayed.figures['stomprtc-relay']!;
      expect(brokerCpuUsPerOp, relayed.case).toBeGreaterThanOrEqual(0);
      expect(brokerCpuUsPerOp, relayed.case).toBeLessThanOrEqual(cpuUsPerOp!);
    }
    // 2 and 6 peers, each a process of its own and all in one process, and the first join of new processes.
    expect(run.cases.filter((c) => c.case.startsWith('P2P join → open channel')).map((c) => caseKey(c.case))).toEqual([
      'P2P join → open channel, 2 peers, a process each',
      'P2P join → open channel, 6 peers, a process each',
      'P2P join → open channel, 2 peers in one process',
      'P2P join → open channel, 6 peers in one process',
      'P2P join → open channel, 2 peers, a process each, their first join',
      'P2P join → open channel, 6 peers, a process each, their first join',
    ]);
    expect(targetsOf('P2P join → open channel')).toEqual(Array.from({ length: 6 }, () => ['stomprtc']));
    expect(targetsOf('server instructions per round trip')).toEqual([
      ['socket.io', 'stomp-floor', 'stomprtc', 'ws'],
      ['socket.io', 'stomp-floor', 'stomprtc', 'ws'],
    ]);
    for (const result of run.cases) {
      for (const [target, figure] of Object.entries(result.figures)) {
        expect(figure.value, result.case).toBeGreaterThan(0);
        expect(Number.isFinite(figure.value), result.case).toBe(true);
        expect(figure.runs, result.case).toHaveLength(result.scenario === 'instructions' ? 3 : 1);
        if (result.unit !== 'ms' && result.scenario !== 'sessions' && result.scenario !== 'instructions') {
          expect(figure.p99Ms, result.case).toBeGreaterThan(0);
          expect(figure.loadCpuUsPerOp, result.case).toBeGreaterThan(0);
          expect(figure.acksPerOp, result.case).toBeGreaterThanOrEqual(0);
        }
        if (result.scenario === 'sessions') {
          expect(Number.isFinite(figure.bytesPerSession), result.case).toBe(true);
          // Every target but RabbitMQ is a Node process.
          if (target !== 'web-stomp') expect(Number.isFinite(figure.heapBytesPerSession), result.case).toBe(true);
          expect(figure.dropped, result.case).toBe(0);
        }
      }
    }
    const markdown = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(markdown).toContain(
      '| case | unit | ws | stomp-floor | stomprtc | socket.io | web-stomp | stomprtc-relay |',
    );
    expect(markdown).toContain('| fan-out 10 subs, 200 B | deliveries/s | ');
    expect(markdown).toMatch(/ load [0-9.]+ µs/);
    expect(readFileSync(join(out, 'benchmarks.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<rect [\s\S]*<\/svg>\n$/);
  }, 480_000);
});
