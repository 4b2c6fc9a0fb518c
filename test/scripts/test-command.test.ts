/**
 * scripts/test.mjs (`npm test`) on a small suite of its own (test/fixtures/crashing-suite): a file
 * whose worker process dies is named and run once more; a failed test is never run again.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CONFIG = '--config=test/fixtures/crashing-suite/vitest.config.ts';
const CRASHING_FILE = 'test/fixtures/crashing-suite/crashes.spec.ts';
const scratch = mkdtempSync(join(tmpdir(), 'stomprtc-test-command-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function npmTest(env: Record<string, string>): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, ['scripts/test.mjs', CONFIG], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { code: result.status, output: result.stdout + result.stderr };
}

describe('npm test (scripts/test.mjs)', () => {
  it('names the file and test whose worker died, runs that file alone once more, and passes when it passes', () => {
    const { code, output } = npmTest({ CRASH_ONCE_MARKER: join(scratch, 'crashed-once') });
    // The test is named when its start reached the main process before the crash; a loaded machine
    // (CI, with the rest of the suite beside it) can lose that race, and then the reporter says so.
    expect(output).toMatch(
      new RegExp(
        `A test worker process died in ${CRASHING_FILE.replaceAll('.', '\\.')}, ` +
          '(while "crashes the worker" was running|before it reported starting a test)',
      ),
    );
    expect(output).toContain(`npm test: running again, once, in new workers: ${CRASHING_FILE}`);
    expect(output).toMatch(/Test Files {2}1 passed \(1\)\s+Tests {2}3 passed \(3\)/);
    expect(output).toContain('The second run of that file passed.');
    expect(code).toBe(0);
  });

  it('fails when the file crashes again', () => {
    const { code, output } = npmTest({});
    expect(output.match(/A test worker process died in/g)).toHaveLength(2);
    expect(output).toContain('The second run of that file failed.');
    expect(code).toBe(1);
  });

  it('runs nothing again when a test failed, even beside a crash', () => {
    const { code, output } = npmTest({
      CRASH_ONCE_MARKER: join(scratch, 'crashed-beside-failure'),
      FAIL_ONE_TEST: '1',
    });
    expect(output).toContain(`A test worker process died in ${CRASHING_FILE}`);
    expect(output).toContain('fails when asked to');
    expect(output).not.toContain('running again');
    expect(code).toBe(1);
  });
});
