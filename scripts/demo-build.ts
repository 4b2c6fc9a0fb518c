/**
 * Builds the demo app with Vite (vite.config.ts) when its output is missing or older than any of
 * its sources. Used by `npm start`, the screenshot script and the browser tests.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Everything the bundle is made from: a change in any of these makes the build stale. */
const SOURCES = ['client/demo', 'client/src', 'shared/src', 'vite.config.ts', 'package-lock.json'];

function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** True when `outDir` has no index.html or one older than a source. */
export function demoIsStale(outDir: string): boolean {
  const index = join(resolve(REPO_ROOT, outDir), 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((source) => newestMtimeMs(resolve(REPO_ROOT, source)) > built);
}

export interface BuildOptions {
  /** Vite's own progress output. @default false */
  readonly verbose?: boolean;
}

/** Runs `vite build` through Vite's JS API into `outDir` (relative to the repository root). */
export async function buildDemo(outDir: string, options: BuildOptions = {}): Promise<void> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new Error('building the demo needs Vite, a dev dependency: run "npm install" (not --omit=dev)');
  }
  // Vite sets NODE_ENV=production for a build; the process that asked (a server, a test) keeps its own.
  const nodeEnv = process.env.NODE_ENV;
  try {
    await vite.build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      build: { outDir: resolve(REPO_ROOT, outDir), emptyOutDir: true },
      logLevel: options.verbose ? 'info' : 'warn',
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

/** Builds unless the output is up to date; says which it did. */
export async function ensureDemo(outDir: string, options: BuildOptions = {}): Promise<'built' | 'fresh'> {
  if (!demoIsStale(outDir)) return 'fresh';
  await buildDemo(outDir, options);
  return 'built';
}
