/**
 * Reading callgrind dumps for `npm run bench:profile`: self costs by function, JIT code named from
 * V8's perf map. Then the tool itself, with tiny counts, against real servers under callgrind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { named, PerfMap, selfCosts } from '../../bench/suite/callgrind-profile.js';
import { callgrindMissing } from '../../bench/suite/callgrind.js';
import { describeWith } from '../helpers/requirements.js';

// A dump as callgrind writes one: compressed names, a call whose inclusive cost belongs to the callee.
const DUMP = [
  'version: 1',
  'events: Ir',
  'fl=(1) ???',
  'fn=(1) 0x0000000012345010',
  '0 100',
  '+2 50',
  'cfn=(2) malloc',
  'calls=1 0',
  '0 900',
  '* 7',
  'fn=(2)',
  '0 900',
  'fn=(3) 0x0000000099999999',
  '0 5',
  'fn=(1)',
  '0 3',
  'totals: 1065',
].join('\n');
const MAP = [
  '12345000 40 JS:*#readHead file:///repo/dist/shared/frame-decoder.js:177:14',
  'deadbeef 10 JS:~other',
].join('\n');

describe('callgrind dumps', () => {
  it('gives each function its own cost: what a call costs counts for the callee, not the caller', () => {
    expect(selfCosts(DUMP)).toEqual(
      new Map([
        ['0x0000000012345010', 160],
        ['malloc', 900],
        ['0x0000000099999999', 5],
      ]),
    );
  });

  it('names JIT code from the perf map, relative to the repository, and leaves unknown addresses as they are', () => {
    expect(named(selfCosts(DUMP), new PerfMap(MAP), '/repo')).toEqual(
      new Map([
        ['#readHead dist/shared/frame-decoder.js:177:14', 160],
        ['malloc', 900],
        ['0x0000000099999999', 5],
      ]),
    );
  });
});

const out = mkdtempSync(join(tmpdir(), 'stomprtc-profile-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describeWith(callgrindMissing(), 'npm run bench:profile', () => {
  it.each(['ws', 'stomp-floor'])(
    'prints where stomprtc runs more instructions than %s, by function',
    async (against) => {
      const { code, stdout, stderr } = await profile([
        'relay',
        '--against',
        against,
        '--pairs',
        '3',
        '--exchanges',
        '1',
      ]);
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(
        new RegExp(
          `^server instructions per round trip, relay chat 3 pairs \\(callgrind\\): ${against} [\\d,]+, stomprtc [\\d,]+;`,
        ),
      );
      const rows = stdout.split('\n').filter((line) => /^ +[\d,]+ +[\d,]+ +[+-][\d,]+ {2}\S/.test(line));
      expect(rows).toHaveLength(10);
      // Our own code is among what it names: the JIT map resolved stomprtc's functions.
      expect(stdout).toMatch(/ dist\/(shared|server)\/src\/\S+\.js:\d+:\d+/);
    },
    300_000,
  );

  it('refuses a baseline it does not know', async () => {
    const { code, stderr } = await profile(['signal', '--against', 'socket.io']);
    expect(code).toBe(2);
    expect(stderr).toContain('--against is ws or stomp-floor, not socket.io');
  });
});

async function profile(args: string[]): Promise<{ code: unknown; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/profile.ts', ...args, '--top', '5', '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}
