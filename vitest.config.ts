import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One `npm pack` and one set of installed user projects per run, shared by test/package/ (see test/helpers/packed.ts).
    globalSetup: ['test/helpers/pack-run.ts'],
    // Keeps @roamhq/wrtc's peer connections from being finalized mid-run, which can crash a worker.
    setupFiles: ['test/helpers/wrtc-finalizers.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // WebRTC, Chromium and network-namespace tests share two cores and fixed ports; files run one at a time.
    fileParallelism: false,
    // Names the file and test when a worker process dies; scripts/test.mjs (npm test) reads its report.
    reporters: ['default', './test/helpers/worker-crash-reporter.ts'],
  },
});
