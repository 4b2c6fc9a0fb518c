/**
 * The Node versions users run (22 and 24; this machine has 20): for each, the `node` package from
 * the npm registry installs the tarball with that Node's npm into a fresh user project, then runs
 * test/fixtures/user-project/smoke.mjs on it — the plugin in a user's app, two relay-only clients chatting.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  INSTALL_TIMEOUT_MS,
  installUserProject,
  packTarball,
  PACK_TIMEOUT_MS,
  repoVersionOf,
  runOk,
  type Tarball,
} from '../helpers/packed.js';

const NODE_VERSIONS = ['22', '24'];

describe('other Node versions', () => {
  let tarball: Tarball;
  beforeAll(async () => {
    tarball = await packTarball();
  }, PACK_TIMEOUT_MS);

  for (const version of NODE_VERSIONS) {
    it(
      `Node ${version}: installs the tarball, runs the plugin in a user app, two relay-only clients chat`,
      async () => {
        const started = Date.now();
        const dir = join(inject('packRunDir'), `node-${version}`);
        const fastify = `fastify@^${repoVersionOf('fastify').split('.')[0]}`;
        const installMs = await installUserProject(dir, [tarball.path, fastify], { node: version });
        const { stdout } = await runOk('npx', ['-y', '-p', `node@${version}`, '--', 'node', 'smoke.mjs'], {
          cwd: dir,
          timeoutMs: 120_000,
        });
        const result = JSON.parse(stdout);
        console.log(`[node ${version}] ${result.node}: install ${installMs} ms, total ${Date.now() - started} ms`);
        expect(result).toEqual({
          node: expect.stringMatching(new RegExp(`^v${version}\\.`)),
          links: { ann: [['Bob', 'relay']], bob: [['Ann', 'relay']] },
          received: { ann: ['hi Ann, Bob here'], bob: ['hello from Ann'] },
        });
      },
      INSTALL_TIMEOUT_MS + 120_000,
    );
  }
});
