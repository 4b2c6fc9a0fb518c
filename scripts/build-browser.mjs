/**
 * The browser build of the client (`stomprtc/client` under the `browser` export condition):
 * client/src/index.ts as minified ESM in dist/browser/, with everything simple-peer needs from
 * Node (events, buffer, process, util, readable-stream) bundled in, so a page's bundler (Vite,
 * webpack, esbuild) needs no polyfills and no configuration. sockjs-client stays a lazy chunk,
 * loaded only when a session asks for the SockJS transport.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/browser`;

/**
 * The client reaches Node-only modules (ws, @roamhq/wrtc) through `import(/* @vite-ignore *\/ name)`,
 * a path no browser takes (browsers have WebSocket and RTCPeerConnection). In this build those
 * imports become rejections, so the page's bundler meets no computed import to warn about or to
 * try to resolve (webpack's "Critical dependency", Vite's "cannot be analyzed").
 */
const NODE_ONLY_IMPORT = /import\(\/\* @vite-ignore \*\/ (\w+)\)/g;
let nodeOnlyImports = 0;
const withoutNodeOnlyImports = {
  name: 'without-node-only-imports',
  setup(build) {
    build.onLoad({ filter: /client[\\/]src[\\/].*\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const contents = source.replace(NODE_ONLY_IMPORT, (_match, name) => {
        nodeOnlyImports++;
        return `Promise.reject(new Error('stomprtc: ' + ${name} + ' is for Node; this is the browser build'))`;
      });
      return { contents, loader: 'ts' };
    });
  },
};

// Chunk names carry a content hash: without a clean start, chunks of earlier builds would ship too.
rmSync(outdir, { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { client: 'client/src/index.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  metafile: true,
  plugins: [withoutNodeOnlyImports],
  inject: ['scripts/browser/node-globals.mjs'],
  define: { global: 'globalThis' },
  legalComments: 'eof',
  logLevel: 'warning',
});

// The client has two (ws in stomp-session.ts, @roamhq/wrtc in webrtc.ts); none found means the pattern went stale.
if (nodeOnlyImports === 0)
  throw new Error('build-browser: no Node-only import found in client/src; update NODE_ONLY_IMPORT');

for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  const bytes = readFileSync(`${root}${file}`);
  // stderr: `npm pack --json` runs this in prepack and keeps stdout for its JSON.
  console.error(`${file}: ${output.bytes} bytes, ${gzipSync(bytes).length} gzip`);
}
