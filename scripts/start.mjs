/**
 * `npm start`: builds the demo app if it is missing or older than its sources, then runs the
 * server in this same process, so Ctrl-C and SIGTERM go straight to the server's own shutdown
 * (server/src/main.ts drains sessions, then exits).
 *
 * Environment: everything server/src/config.ts reads (PORT, HOST, DEMO_DIR, ...). With DEMO_DIR set
 * to a directory of your own, that directory is served as it is and nothing is built.
 */
import { register } from 'tsx/esm/api';

register();

const demoDir = process.env.DEMO_DIR || 'dist/demo';
if (!process.env.DEMO_DIR || process.env.DEMO_DIR === 'dist/demo') {
  const { ensureDemo } = await import('./demo-build.ts');
  const started = Date.now();
  try {
    const result = await ensureDemo(demoDir, { verbose: true });
    if (result === 'built') console.log(`stomprtc: built the demo into ${demoDir} in ${Date.now() - started} ms`);
  } catch (err) {
    console.error(`stomprtc: could not build the demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

await import('../server/src/main.ts');
