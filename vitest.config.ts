import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // WebRTC, Chromium and network-namespace tests share two cores and fixed ports; files run one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
