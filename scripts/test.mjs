/**
 * `npm test`: `vitest run` with the arguments given, and then, only if the sole trouble was test
 * worker processes dying (see test/helpers/worker-crash-reporter.ts), those files once more in new
 * workers (those files whole, with the --name=value options given). A failed test or any other
 * error is never run again: the exit code is then the first run's.
 *
 * Why: @roamhq/wrtc, our Node WebRTC, can crash the process that uses it (native code; upstream
 * WonderInventions/node-webrtc#35). A crash is not a verdict on the file's tests, and with a
 * crashed worker vitest loses the results of the rest of that file. The second run gives them a
 * verdict; both runs' output stays in the log, and the crash is named at the end either way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'stomprtc-test-'));

/** Runs vitest; returns its exit code and the crash report its reporter wrote, if any. */
function runVitest(args, name) {
  const reportPath = join(scratch, `${name}.json`);
  const result = spawnSync(process.execPath, [vitest, 'run', ...args], {
    stdio: 'inherit',
    env: { ...process.env, STOMPRTC_TEST_CRASH_REPORT: reportPath },
  });
  let report = null;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    // vitest ended before its reporters did (bad arguments, a failing global setup): nothing to read.
  }
  return { code: result.status ?? 1, report };
}

const args = process.argv.slice(2);
const first = runVitest(args, 'first');
let code = first.code;
if (code !== 0 && first.report?.onlyCrashes) {
  const files = first.report.crashed.map((c) => c.file);
  // Options given as --name=value (say --config=...) hold for the second run too; file filters do not.
  const options = args.filter((a) => /^--[^=]+=/.test(a));
  console.error(`\nnpm test: running again, once, in new workers: ${files.join(', ')}\n`);
  const second = runVitest([...options, ...files], 'second');
  code = second.code;
  const crashes = first.report.crashed.map((c) => (c.test ? `${c.file} (in "${c.test}")` : c.file));
  console.error(
    `\nnpm test: a worker died in the first run: ${crashes.join('; ')}.` +
      ` The second run of ${files.length === 1 ? 'that file' : 'those files'} ${code === 0 ? 'passed' : 'failed'}.`,
  );
}
rmSync(scratch, { recursive: true, force: true });
process.exit(code);
