/**
 * Builds the demo app (client/demo) into dist/demo, which the server serves at GET /.
 * `npm start` runs this build when the output is missing or older than its sources
 * (scripts/demo-build.mjs); `npx vite` serves the demo with hot reload, proxying the STOMP
 * endpoints to a server on STOMPRTC_URL (default http://127.0.0.1:8080).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { nodePolyfills } from 'vite-plugin-node-polyfills';

const repo = fileURLToPath(new URL('.', import.meta.url));
const server = process.env.STOMPRTC_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: `${repo}client/demo`,
  // Relative asset URLs: the build works wherever the server mounts it.
  base: './',
  // Runtime files (favicon, …) would go in client/demo/public; the demo has none.
  publicDir: false,
  plugins: [
    // simple-peer (and readable-stream under it) is written for Node: it needs Buffer, process,
    // events and util in the browser. Only those, so the bundle stays small.
    nodePolyfills({
      include: ['buffer', 'events', 'process', 'util', 'stream'],
      globals: { Buffer: true, process: true, global: true },
    }),
  ],
  build: {
    outDir: `${repo}dist/demo`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: {
      '/ws': { target: server, ws: true },
      '/sockjs': { target: server, ws: true },
    },
  },
});
