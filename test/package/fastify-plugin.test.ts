/**
 * `stomprtc/server` inside a user's own Fastify app (test/fixtures/user-project/user-app.mjs),
 * installed from the tarball: the user's route, hook, error handler and not-found handler keep
 * working, no catch-all appears, and the package's own client chats through it — relay-only, and
 * over @roamhq/wrtc to p2p.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACK_TIMEOUT_MS, Program, runJson, userProject, type UserProject } from '../helpers/packed.js';

describe('stomprtc/server as a plugin in a user app', () => {
  let runtime: UserProject;
  let tooling: UserProject;
  let app: Program;
  let url: string;
  beforeAll(async () => {
    runtime = await userProject('runtime');
    tooling = await userProject('tooling');
    app = Program.start('user-app.mjs', 'node', ['user-app.mjs'], { cwd: runtime.dir });
    const [, port] = await app.waitForOutput(/listening (\d+)/);
    url = `http://127.0.0.1:${port}`;
  }, 2 * PACK_TIMEOUT_MS);
  afterAll(async () => {
    await app?.stop();
  });

  it("keeps the user's route and hook", async () => {
    const response = await fetch(`${url}/hello`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-user-hook')).toBe('ran');
    expect(await response.json()).toEqual({ hello: 'user' });
  });

  it("keeps the user's error handler", async () => {
    const response = await fetch(`${url}/fails`);
    expect(response.status).toBe(418);
    expect(await response.json()).toEqual({ handledBy: 'user', message: 'the user route failed' });
  });

  it("adds /healthz and /metrics, and no catch-all: / and unknown paths reach the user's not-found handler", async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);
    for (const path of ['/', '/index.html', '/no/such/page']) {
      const response = await fetch(`${url}${path}`);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 404,
        body: { notFoundBy: 'user', url: path },
      });
    }
  });

  it('two relay-only Node clients chat through it', async () => {
    const result = await runJson(runtime.dir, 'chat.mjs', [`${url.replace('http', 'ws')}/ws`, 'relay']);
    expect(result).toEqual({
      links: { ann: [['Bob', 'relay']], bob: [['Ann', 'relay']] },
      received: { ann: ['hi Ann, Bob here'], bob: ['hello from Ann'] },
    });
  });

  it('two Node clients with @roamhq/wrtc link p2p and chat', async () => {
    const result = await runJson(tooling.dir, 'chat.mjs', [`${url.replace('http', 'ws')}/ws`, 'wrtc']);
    expect(result).toEqual({
      links: { ann: [['Bob', 'p2p']], bob: [['Ann', 'p2p']] },
      received: { ann: ['hi Ann, Bob here'], bob: ['hello from Ann'] },
    });
  });
});
