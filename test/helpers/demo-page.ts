/**
 * The demo app in real Chromium against a real server: builds the demo once (rebuilt only when
 * its sources change), serves it with startServer, and drives pages through the demo's
 * data-testid hooks.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ensureDemo, REPO_ROOT } from '../../scripts/demo-build.mjs';
import { launchChromium, openPage, assertNoConsoleErrors, type PageOptions, type WatchedPage } from './chromium.js';
import { startServer, type TestServer } from './server.js';

/**
 * Where the tests' build of the demo goes: the system's temp directory, one per checkout, so test
 * files share it and a clean of the work tree cannot pull it away mid-run. `E2E_DEMO_DIR` names a
 * demo built elsewhere instead, served as it is.
 */
const PREBUILT_DEMO_DIR = process.env.E2E_DEMO_DIR;
const E2E_DEMO_DIR =
  PREBUILT_DEMO_DIR ||
  join(tmpdir(), `stomprtc-e2e-demo-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 10)}`);

/** Liveness bound for UI waits: ICE on loopback takes well under a second, the relay fallback a few. */
export const UI_WAIT_MS = 20_000;

export interface PeerRow {
  readonly id: string;
  readonly link: string;
  readonly name: string;
}
export interface MessageRow {
  readonly text: string;
  readonly own: boolean;
}

export class DemoPage {
  constructor(
    readonly name: string,
    readonly watched: WatchedPage,
  ) {}

  get page() {
    return this.watched.page;
  }
  get errors() {
    return this.watched.errors;
  }

  async status(): Promise<string> {
    return (await this.page.getByTestId('status').textContent())?.trim() ?? '';
  }

  /** Waits for the session state; fails at once when the page shows it could not connect or join. */
  async waitForStatus(state: string, timeout = UI_WAIT_MS): Promise<void> {
    await this.#waitFor(
      `status "${state}"`,
      (s) =>
        document.querySelector('[data-testid=status]')?.textContent?.trim() === s ||
        document.querySelector('.failure') !== null,
      state,
      timeout,
    );
    const failure = await this.page
      .locator('.failure')
      .innerText({ timeout: 100 })
      .catch(() => null);
    if (failure) throw new Error(`${this.name}: the page gave up: ${failure}`);
  }

  async peers(): Promise<PeerRow[]> {
    return this.page.$$eval('[data-testid=peer]', (rows) =>
      rows.map((r) => ({
        id: r.getAttribute('data-peer-id') ?? '',
        link: r.getAttribute('data-link') ?? '',
        name: r.querySelector('.peer-name')?.textContent ?? '',
      })),
    );
  }

  /** Waits until exactly `count` remote peers are listed, all on `link` when given. */
  async waitForPeers(count: number, link?: string, timeout = UI_WAIT_MS): Promise<PeerRow[]> {
    await this.#waitFor(
      `${count} peer(s)${link ? ` on ${link}` : ''}`,
      ([n, l]) => {
        const rows = [...document.querySelectorAll('[data-testid=peer]')];
        return rows.length === n && (l === '' || rows.every((r) => r.getAttribute('data-link') === l));
      },
      [count, link ?? ''] as const,
      timeout,
    );
    return this.peers();
  }

  async send(text: string): Promise<void> {
    await this.page.getByTestId('chat-input').fill(text);
    await this.page.getByTestId('chat-send').click();
  }

  async messages(): Promise<MessageRow[]> {
    return this.page.$$eval('[data-testid=message]', (rows) =>
      rows.map((r) => ({
        text: r.textContent ?? '',
        own: r.getAttribute('data-own') === 'true',
      })),
    );
  }

  /** Waits for a message whose text contains every one of `parts` (sender name and text, say). */
  async waitForMessage(parts: string[], timeout = UI_WAIT_MS): Promise<void> {
    await this.#waitFor(
      `a message with ${JSON.stringify(parts)}`,
      (p) =>
        [...document.querySelectorAll('[data-testid=message]')].some((m) =>
          p.every((s) => (m.textContent ?? '').includes(s)),
        ),
      parts,
      timeout,
    );
  }

  async #waitFor<A>(what: string, fn: (arg: A) => boolean, arg: A, timeout: number): Promise<void> {
    try {
      // The function runs in the page; playwright's Unboxed<A> is A for the plain data passed here.
      await this.page.waitForFunction(fn as (arg: unknown) => boolean, arg as unknown, { timeout, polling: 100 });
    } catch (err) {
      const state = await this.page
        .evaluate(() => ({
          status: document.querySelector('[data-testid=status]')?.textContent,
          failure: document.querySelector('.failure')?.textContent,
          peers: [...document.querySelectorAll('[data-testid=peer]')].map(
            (r) => `${r.getAttribute('data-peer-id')}=${r.getAttribute('data-link')}`,
          ),
          messages: [...document.querySelectorAll('[data-testid=message]')].map((m) => m.textContent),
        }))
        .catch(() => 'unavailable');
      throw new Error(
        `${this.name}: waited ${timeout} ms for ${what}; page: ${JSON.stringify(state)}\nlog:\n${this.watched.log.slice(-30).join('\n')}`,
        { cause: err },
      );
    }
  }
}

export interface DemoWorld {
  readonly server: TestServer;
  readonly browser: Browser;
  /** Opens `/?<query>` in a fresh browser context. */
  open(name: string, query: string, options?: PageOptions): Promise<DemoPage>;
  /** Fails if any page opened so far logged a console error or threw. */
  assertNoConsoleErrors(): void;
  /** Closes the pages opened so far (each test's own). */
  closePages(): Promise<void>;
  close(): Promise<void>;
}

async function startDemoWorld(serverEnv: Record<string, string> = {}): Promise<DemoWorld> {
  if (!PREBUILT_DEMO_DIR) await ensureDemo(E2E_DEMO_DIR);
  const browser = await launchChromium();
  const server = await startServer({ DEMO_DIR: E2E_DEMO_DIR, ...serverEnv }).catch(async (err) => {
    await browser.close();
    throw err;
  });
  let pages: DemoPage[] = [];
  const world: DemoWorld = {
    server,
    browser,
    async open(name, query, options) {
      const page = new DemoPage(name, await openPage(browser, `${server.httpUrl}/?${query}`, options));
      pages.push(page);
      return page;
    },
    assertNoConsoleErrors() {
      assertNoConsoleErrors(Object.fromEntries(pages.map((p) => [p.name, p.watched])));
    },
    async closePages() {
      const closing = pages;
      pages = [];
      await Promise.all(closing.map((p) => p.watched.context.close().catch(() => undefined)));
    },
    async close() {
      await world.closePages();
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
  return world;
}

/**
 * Registers the hooks of a browser suite: one world for the file, and after each test a check
 * that no page logged a console error or threw, then its pages closed. Returns the world's getter,
 * which throws the reason in every test when there is no world (no Chromium, a failed build).
 */
export function useDemoWorld(serverEnv: Record<string, string> = {}): () => DemoWorld {
  let world: DemoWorld | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      world = await startDemoWorld(serverEnv);
    } catch (err) {
      failure = err;
    }
  });
  afterEach(async () => {
    try {
      world?.assertNoConsoleErrors();
    } finally {
      await world?.closePages();
    }
  });
  afterAll(async () => {
    await world?.close();
  });
  return () => {
    if (!world)
      throw failure instanceof Error ? failure : new Error('the demo world is not started', { cause: failure });
    return world;
  };
}

/** A room id no other test uses. */
export function roomId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
