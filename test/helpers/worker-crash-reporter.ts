/**
 * A vitest reporter for the one failure vitest cannot name: a test file's worker process dying
 * (a native crash in @roamhq/wrtc, see wrtc-finalizers.ts). Vitest then prints "Worker exited
 * unexpectedly" with no file, and the file's remaining tests just go missing from the count. This
 * reporter prints, last in the output, each file that started and never finished and the test that
 * was running; with STOMPRTC_TEST_CRASH_REPORT set (scripts/test.mjs sets it) it also writes them as
 * JSON there, so the test command can run those files again in new workers.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, SerializedError, TestCase, TestModule } from 'vitest/node';

/** What scripts/test.mjs reads back. */
export interface CrashReport {
  /** Files whose worker died before they finished, with the test that was running. */
  crashed: Array<{ file: string; test: string | null }>;
  /** True when nothing else went wrong: every other file passed or was skipped, and every unhandled error was a worker dying. */
  onlyCrashes: boolean;
}

const WORKER_EXIT = 'Worker exited unexpectedly';

export default class WorkerCrashReporter implements Reporter {
  readonly #running = new Map<TestModule, TestCase | null>();

  onTestModuleStart(module: TestModule): void {
    this.#running.set(module, null);
  }

  onTestCaseReady(test: TestCase): void {
    this.#running.set(test.module, test);
  }

  onTestModuleEnd(module: TestModule): void {
    this.#running.delete(module);
  }

  onTestRunEnd(modules: readonly TestModule[], errors: readonly SerializedError[]): void {
    const crashed = [...this.#running].map(([module, test]) => ({
      file: relative(process.cwd(), module.moduleId),
      test: test?.fullName ?? null,
    }));
    const finishedWell = modules.every(
      (m) => this.#running.has(m) || m.state() === 'passed' || m.state() === 'skipped',
    );
    const report: CrashReport = {
      crashed,
      onlyCrashes: crashed.length > 0 && finishedWell && errors.every(isWorkerExit),
    };
    const path = process.env.STOMPRTC_TEST_CRASH_REPORT;
    if (path) writeFileSync(path, JSON.stringify(report));
    for (const { file, test } of crashed) {
      const when = test
        ? `while "${test}" was running (the last test it reported starting)`
        : 'before it reported starting a test';
      console.error(`\nA test worker process died in ${file}, ${when}.`);
    }
  }
}

function isWorkerExit(error: SerializedError): boolean {
  return error.message.includes(WORKER_EXIT) || (error.cause?.message.includes(WORKER_EXIT) ?? false);
}
