/**
 * What `npm pack` ships and what plain Node makes of it, in a user project with runtime
 * dependencies only: the client imports as ESM and through require(), with its public API.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { installedPackages, PACK_TIMEOUT_MS, runJson, userProject, type UserProject } from '../helpers/packed.js';

/** The public API of stomprtc/client (README, client/src/index.ts): values, by kind. */
const CLIENT_API = {
  connect: 'function',
  Session: 'function',
  Room: 'function',
  createRoom: 'function',
  ClientError: 'function',
  CLIENT_ERROR_CODES: 'object',
  exponentialBackoff: 'function',
  NEVER_RECONNECT: 'object',
  limits: 'object',
};

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the packed tarball', () => {
  let project: UserProject;
  beforeAll(async () => {
    project = await userProject('runtime');
  }, PACK_TIMEOUT_MS);

  it('ships what users run: compiled JavaScript with types, the demo, README, LICENSE and docs, and no sources of tests', () => {
    const files = project.tarball.files;
    console.log(
      `[tarball] ${files.length} files, ${project.tarball.bytes} bytes packed, ` +
        `npm pack ${project.tarball.packMs} ms, runtime install ${project.installMs} ms`,
    );
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    expect(files.some((f) => /^dist\/.*\.js$/.test(f))).toBe(true);
    expect(files.some((f) => /^dist\/.*\.d\.ts$/.test(f))).toBe(true);
    expect(files.some((f) => /^dist\/.*index\.html$/.test(f))).toBe(true);
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|\.ci|scripts\/.*\.ts$|client\/src|server\/src|shared\/src)/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  it('ships no leftovers of earlier builds: every compiled module has its source, every chunk is loaded', () => {
    const files = project.tarball.files;
    const compiled = files.filter((f) => /^dist\/(shared|server|client)\/src\/.*\.js$/.test(f));
    expect(compiled.length).toBeGreaterThan(0);
    const orphans = compiled.filter(
      (f) => !existsSync(join(REPO_ROOT, f.replace(/^dist\//, '').replace(/\.js$/, '.ts'))),
    );
    expect(orphans).toEqual([]);
    // Chunk names carry content hashes, so a chunk of an earlier build is named by no file of this one.
    const installed = join(project.dir, 'node_modules/stomprtc');
    const chunks = files.filter(
      (f) => /^dist\/(browser|demo\/assets)\/.*\.js$/.test(f) && f !== 'dist/browser/client.js',
    );
    expect(chunks.length).toBeGreaterThan(0);
    const unreferenced = chunks.filter((chunk) => {
      const name = chunk.slice(chunk.lastIndexOf('/') + 1);
      const siblings = files.filter((f) => f !== chunk && dirname(f) === dirname(chunk) && f.endsWith('.js'));
      const referrers = chunk.startsWith('dist/demo/') ? [...siblings, 'dist/demo/index.html'] : siblings;
      return !referrers.some((f) => readFileSync(join(installed, f), 'utf8').includes(name));
    });
    expect(unreferenced).toEqual([]);
  });

  it('installs with runtime dependencies only: no TypeScript tooling, no bundler, no test tools', () => {
    const installed = installedPackages(project.dir);
    expect(installed).toContain('stomprtc');
    for (const tool of ['typescript', 'tsx', 'vite', 'vitest', 'esbuild', 'playwright-core', '@roamhq/wrtc']) {
      expect(installed).not.toContain(tool);
    }
  });

  it('imports the client in plain Node ESM, with its public API', async () => {
    const result = await runJson(project.dir, 'import-esm.mjs');
    expect(result.connect).toBe('function');
    expect(result.exports).toMatchObject(CLIENT_API);
  });

  it('requires the client from CommonJS, with the same API', async () => {
    const result = await runJson(project.dir, 'import-cjs.cjs');
    expect(result.connect).toBe('function');
    expect(result.exports).toMatchObject(CLIENT_API);
  });

  it('resolves stomprtc/client and stomprtc/server to compiled JavaScript inside the package', async () => {
    const result = await runJson(project.dir, 'resolve.mjs');
    expect(result.client).toMatch(/\/node_modules\/stomprtc\/dist\/.*\.js$/);
    expect(result.server).toMatch(/\/node_modules\/stomprtc\/dist\/.*\.js$/);
  });
});
