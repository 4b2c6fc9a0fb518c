/**
 * `npm start`: compiles the server (tsc -b, incremental: a no-op when dist/ is fresh) and builds the
 * demo app if it is missing or older than its sources, then runs the compiled server in this same
 * process, so Ctrl-C and SIGTERM go straight to the server's own shutdown (server/src/main.ts
 * drains sessions, then exits). No TypeScript runs at start: only dist/.
 *
 * Environment: everything server/src/config.ts reads (PORT, HOST, DEMO_DIR, ...). With DEMO_DIR set
 * to a directory of your own, that directory is served as it is and nothing is built for it.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ensureDemo, REPO_ROOT } from './demo-build.mjs';

function fail(what, err) {
  console.error(`stomprtc: could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch (err) {
  fail('compile the server (TypeScript is a dev dependency: run "npm install")', err);
}
const compiled = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
if (compiled.status !== 0)
  fail('compile the server', new Error(`tsc -b exited with ${compiled.status ?? compiled.signal}`));

if (!process.env.DEMO_DIR) {
  const started = Date.now();
  try {
    if ((await ensureDemo('dist/demo', { verbose: true })) === 'built') {
      console.log(`stomprtc: built the demo into dist/demo in ${Date.now() - started} ms`);
    }
  } catch (err) {
    fail('build the demo', err);
  }
}

await import('../dist/server/src/main.js');
