/**
 * Vitest global setup: one scratch folder per test run, where the packed-tarball suites share one
 * `npm pack` and their installed "user projects" (see packed.ts). Removed when the run ends.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    packRunDir: string;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stomprtc-pack-run-'));
  project.provide('packRunDir', dir);
  return async () => {
    if (process.env.KEEP_PACK_RUN_DIR === 'true') console.log(`[pack-run] kept ${dir}`);
    // Asynchronously: the installed projects are large, and vitest is still ending its workers.
    else await rm(dir, { recursive: true, force: true });
  };
}
