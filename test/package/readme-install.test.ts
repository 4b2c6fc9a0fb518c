/**
 * The README's "Install" section, run as written against the packed tarball: its install line,
 * its command lines, the plugin in an app of your own and the client snippet (the client talks to
 * that app). Only the port changes (a free one instead of 8080 or 9000). The "Deploying" section's
 * nginx block is run by nginx-deploy.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { codeBlocks, readmeSection, type CodeBlock } from '../helpers/readme-snippets.js';
import {
  installedPackages,
  PACK_TIMEOUT_MS,
  Program,
  runJson,
  runOk,
  userProject,
  waitForHttp,
  type UserProject,
} from '../helpers/packed.js';
import { freePort } from '../helpers/free-port.js';

/** Replaces `from` (which must be in the snippet: the README is what is tested) with `to`. */
function substitute(text: string, from: string | RegExp, to: string): string {
  if (!(typeof from === 'string' ? text.includes(from) : from.test(text)))
    throw new Error(`the README snippet no longer contains ${String(from)}:\n${text}`);
  return text.replace(from, to);
}

/** Waits until the server's Prometheus text has `line` (the snippet's client is in its room, say). */
async function untilMetric(url: string, line: string, program: Program): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await (await fetch(url)).text()).split('\n').includes(line)) {
    if (Date.now() > deadline)
      throw new Error(`${url} never showed "${line}"; ${program.name} printed:\n${program.output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('README "Install", run against the packed tarball', () => {
  const blocks: CodeBlock[] = codeBlocks(readmeSection('Install'));
  const [installBlock, commandBlock, pluginBlock, clientBlock] = blocks;
  let project: UserProject;
  const programs: Program[] = [];
  beforeAll(async () => {
    project = await userProject('runtime');
  }, PACK_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all(programs.map((p) => p.stop()));
  });

  it('has the blocks this test runs: the install line, the commands, the plugin, the client', () => {
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'sh', 'js', 'js']);
    expect(pluginBlock!.code).toContain("from 'stomprtc/server'");
    expect(clientBlock!.code).toContain("from 'stomprtc/client'");
  });

  it('npm install stomprtc: installs into an empty project', async () => {
    expect(installBlock!.code.trim()).toBe('npm install stomprtc');
    const dir = join(inject('packRunDir'), 'readme-install');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "name": "empty-project", "private": true }\n');
    // The package from the registry is this tarball.
    await runOk('npm', ['install', '--no-audit', '--no-fund', project.tarball.path], { cwd: dir, timeoutMs: 240_000 });
    expect(installedPackages(dir)).toEqual(
      expect.arrayContaining(['stomprtc', 'fastify', '@stomp/stompjs', 'simple-peer']),
    );
  }, 240_000);

  it('runs each command line: --help prints the settings, the others serve /healthz and the demo', async () => {
    const lines = commandBlock!.code.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      if (line.endsWith('--help')) {
        const { stdout } = await runOk('bash', ['-c', line], { cwd: project.dir, timeoutMs: 30_000 });
        expect(stdout).toContain('MAX_ROOM_MEMBERS');
        continue;
      }
      const port = await freePort();
      // PORT in the environment, or in place of the line's own.
      const command = line.replace(/\bPORT=\d+/, `PORT=${port}`);
      const program = Program.start(line, 'bash', ['-c', command], {
        cwd: project.dir,
        env: { PORT: String(port), HOST: '127.0.0.1' },
      });
      programs.push(program);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, program);
      expect({ line, health: (await fetch(`http://127.0.0.1:${port}/healthz`)).status }).toEqual({ line, health: 200 });
      const demo = await fetch(`http://127.0.0.1:${port}/`);
      expect({ line, demo: demo.headers.get('content-type') }).toEqual({
        line,
        demo: expect.stringMatching(/^text\/html/),
      });
      await program.stop();
    }
  });

  it('the plugin snippet serves your route and stomprtc; the client snippet joins "team" there and greets whoever joins', async () => {
    const port = await freePort();
    writeFileSync(
      join(project.dir, 'readme-plugin.mjs'),
      substitute(pluginBlock!.code, 'port: 8080', `port: ${port}, host: '127.0.0.1'`),
    );
    const app = Program.start('README plugin snippet', 'node', ['readme-plugin.mjs'], { cwd: project.dir });
    programs.push(app);
    await waitForHttp(`http://127.0.0.1:${port}/`, 30_000, app);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('my own app');
    expect((await fetch(`http://127.0.0.1:${port}/rtc/healthz`)).status).toBe(200);

    const wsUrl = `ws://127.0.0.1:${port}/ws`;
    writeFileSync(
      join(project.dir, 'readme-client.mjs'),
      substitute(clientBlock!.code, 'ws://localhost:8080/ws', wsUrl),
    );
    const client = Program.start('README client snippet', 'node', ['readme-client.mjs'], { cwd: project.dir });
    programs.push(client);
    // Bob joins "team" after the snippet's client: it greets him, he answers, it prints the answer.
    await untilMetric(`http://127.0.0.1:${port}/metrics`, 'stomprtc_room_members 1', client);
    const bob = await runJson(project.dir, 'room-peer.mjs', [wsUrl, 'team', 'Bob']);
    expect(bob).toEqual({ first: { from: expect.any(String), data: 'hello, Bob' }, peers: ['Ann'] });
    await client.waitForOutput(/thanks, from Bob/, 20_000);
  });
});
