/**
 * A user's tiny page that imports stomprtc/client (test/fixtures/user-project/page), bundled the
 * default way — Vite and webpack with no config file and no plugins, esbuild with nothing but
 * --bundle — builds without a warning; and two Chromium pages served with each build (by
 * `npx stomprtc` with DEMO_DIR set to it) join one room, link p2p and chat.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertNoConsoleErrors,
  chromiumMissing,
  launchChromium,
  openPage,
  type WatchedPage,
} from '../helpers/chromium.js';
import {
  PACK_TIMEOUT_MS,
  runOk,
  startStomprtcCommand,
  userProject,
  type Program,
  type RunResult,
  type UserProject,
} from '../helpers/packed.js';
import { describeWith } from '../helpers/requirements.js';

interface Bundler {
  readonly name: string;
  /** Where the built page goes, in the user project. */
  readonly outDir: string;
  build(project: UserProject): Promise<RunResult>;
  /** The line of its output that says it finished. */
  readonly done: RegExp;
}

const BUNDLERS: Bundler[] = [
  {
    name: 'vite',
    outDir: 'page-vite',
    build: (project) =>
      runOk('npx', ['--no-install', 'vite', 'build', 'page', '--outDir', '../page-vite', '--emptyOutDir'], {
        cwd: project.dir,
        timeoutMs: 120_000,
      }),
    done: /built in/,
  },
  {
    name: 'esbuild',
    outDir: 'page-esbuild',
    build: async (project) => {
      const args = ['page/main.js', '--bundle', '--splitting', '--format=esm', '--outdir=page-esbuild'];
      const result = await runOk('npx', ['--no-install', 'esbuild', ...args], { cwd: project.dir, timeoutMs: 120_000 });
      copyFileSync(join(project.dir, 'page/index.html'), join(project.dir, 'page-esbuild/index.html'));
      return result;
    },
    done: /Done in/,
  },
  {
    name: 'webpack',
    outDir: 'page-webpack',
    build: async (project) => {
      const args = ['--mode', 'production', '--entry', './page/main.js', '--output-path', './page-webpack'];
      const result = await runOk('npx', ['--no-install', 'webpack', ...args], { cwd: project.dir, timeoutMs: 120_000 });
      copyFileSync(join(project.dir, 'page/index.html'), join(project.dir, 'page-webpack/index.html'));
      return result;
    },
    done: /compiled successfully/,
  },
];

/** What the page puts on window for tests (page/main.js). */
type ChatWindow = {
  chat: {
    joined: boolean;
    failure: string | null;
    received: string[];
    peers(): Array<{ name: string; link: string }>;
    send(text: string): boolean;
  };
};

describeWith(chromiumMissing, 'a page that imports stomprtc/client, bundled with default settings', () => {
  let project: UserProject;
  let browser: Browser | undefined;
  beforeAll(async () => {
    project = await userProject('tooling');
    browser = await launchChromium();
  }, 2 * PACK_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
  });

  for (const bundler of BUNDLERS) {
    describe(bundler.name, () => {
      let build: RunResult | undefined;
      let server: { program: Program; url: string } | undefined;
      afterAll(async () => {
        await server?.program.stop();
      });

      it('builds without warnings: nothing externalized for browser compatibility', async () => {
        build = await bundler.build(project);
        const output = `${build.stdout}\n${build.stderr}`;
        const files = output.split('\n').filter((l) => /\.js\s/.test(l) && !l.includes('node_modules'));
        console.log(`[${bundler.name}] ${files.map((l) => l.trim().replace(/\s+/g, ' ')).join(' | ')}`);
        expect(output).not.toMatch(/externalized for browser compatibility/);
        expect(output).not.toMatch(/warn|\(!\)|deprecat/i);
        expect(output).toMatch(bundler.done);
      });

      it('two Chromium pages served with the build join one room, link p2p and chat', async () => {
        if (!build) throw new Error(`the ${bundler.name} build failed (see the test before)`);
        server = await startStomprtcCommand(project, { DEMO_DIR: join(project.dir, bundler.outDir) });
        const room = `${bundler.name}-${Math.random().toString(36).slice(2, 8)}`;
        const pages: Record<string, WatchedPage> = {};
        for (const name of ['Ann', 'Bob']) {
          pages[name] = await openPage(browser!, `${server.url}/?room=${room}&name=${name}`);
        }
        try {
          const [ann, bob] = [pages.Ann!.page, pages.Bob!.page];
          // Both join() calls settle (the second one never did with Node modules externalized).
          for (const page of [ann, bob]) {
            await page.waitForFunction(
              () => (window as unknown as ChatWindow).chat.joined || (window as unknown as ChatWindow).chat.failure,
            );
            expect(await page.evaluate(() => (window as unknown as ChatWindow).chat.failure)).toBeNull();
          }
          // Chromium has WebRTC: the pages link directly.
          for (const page of [ann, bob]) {
            await page.waitForFunction(
              () =>
                (window as unknown as ChatWindow).chat
                  .peers()
                  .map((p) => p.link)
                  .join() === 'p2p',
            );
          }
          expect(await ann.evaluate(() => (window as unknown as ChatWindow).chat.send('hello from Ann'))).toBe(true);
          expect(await bob.evaluate(() => (window as unknown as ChatWindow).chat.send('hi Ann, Bob here'))).toBe(true);
          await bob.waitForFunction(() => (window as unknown as ChatWindow).chat.received.length > 0);
          await ann.waitForFunction(() => (window as unknown as ChatWindow).chat.received.length > 0);
          expect(await ann.evaluate(() => (window as unknown as ChatWindow).chat.received)).toEqual([
            'hi Ann, Bob here',
          ]);
          expect(await bob.evaluate(() => (window as unknown as ChatWindow).chat.received)).toEqual(['hello from Ann']);
          expect(await ann.evaluate(() => (window as unknown as ChatWindow).chat.peers())).toEqual([
            { name: 'Bob', link: 'p2p' },
          ]);
          expect(await bob.evaluate(() => (window as unknown as ChatWindow).chat.peers())).toEqual([
            { name: 'Ann', link: 'p2p' },
          ]);
          assertNoConsoleErrors(pages);
        } finally {
          await Promise.all(Object.values(pages).map((p) => p.context.close()));
        }
      });
    });
  }
});
