/**
 * Builds the demo app with Vite (vite.config.ts) when its output is missing or older than any of
 * its sources. Used by `npm start`, the screenshot script and the browser tests. Plain JavaScript
 * (types in demo-build.d.mts) so that `npm start` runs without TypeScript tooling.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Everything the bundle is made from: a change in any of these makes the build stale. */
const SOURCES = ['client/demo', 'client/src', 'shared/src', 'vite.config.ts', 'package-lock.json'];

/** @param {string} path */
function newestMtimeMs(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** True when `outDir` has no index.html or one older than a source. */
/** @param {string} outDir */
export function demoIsStale(outDir) {
  const index = join(resolve(REPO_ROOT, outDir), 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((source) => newestMtimeMs(resolve(REPO_ROOT, source)) > built);
}

/** Runs `vite build` through Vite's JS API into `outDir` (relative to the repository root). */
/** @param {string} outDir @param {import('./demo-build.d.mts').BuildOptions} options */
export async function buildDemo(outDir, options = {}) {
  let vite;
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
/** @param {string} outDir @param {import('./demo-build.d.mts').BuildOptions} options @returns {Promise<'built' | 'fresh'>} */
export async function ensureDemo(outDir, options = {}) {
  if (!demoIsStale(outDir)) return 'fresh';
  await buildDemo(outDir, options);
  return 'built';
}
