/**
 * Headless Chromium for end-to-end tests: the system's build (never a downloaded one), flags that
 * make it work as root in a container, fake camera and microphone, and pages that record every
 * console error and uncaught exception so a test can insist there were none.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** `CHROMIUM_PATH` overrides the Debian package's binary. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Why the browser suites cannot run here, or undefined when they can (see requirements.ts). */
export const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `Chromium not found at ${CHROMIUM_PATH}: the browser tests need it. ` +
    'Install it (apt-get install chromium, or scripts/install-test-deps.sh) or set CHROMIUM_PATH; never "npx playwright install".';

const ARGS = [
  // Root in a container: no sandbox, no GPU, nothing that phones home or updates itself.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // getUserMedia answers at once, with a generated test pattern and a beep.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // Host ICE candidates carry real addresses instead of .local names that nothing here resolves.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // A remote video with sound starts on a page that was never clicked.
  '--autoplay-policy=no-user-gesture-required',
];

/** `extraArgs`: more command-line switches (`--ignore-certificate-errors` for a self-signed server). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (chromiumMissing) throw new Error(chromiumMissing);
  // Each launch gets a fresh temporary profile from playwright.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...ARGS, ...extraArgs],
    chromiumSandbox: false,
  });
}

/** A page in its own context (its own storage, like another person's browser) that keeps errors. */
export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console messages of type error, and uncaught exceptions, in order. */
  readonly errors: string[];
  /** Everything the page logged, for failure messages. */
  readonly log: string[];
}

export interface PageOptions {
  readonly viewport?: { width: number; height: number };
  readonly colorScheme?: 'light' | 'dark';
  /** Device pixels per CSS pixel (2 for crisp screenshots). @default 1 */
  readonly deviceScaleFactor?: number;
  /** Runs in the page before any of its own scripts (to take an API away, say). */
  readonly initScript?: string;
}

export async function openPage(browser: Browser, url: string, options: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1100, height: 760 },
    colorScheme: options.colorScheme ?? 'light',
    deviceScaleFactor: options.deviceScaleFactor ?? 1,
    permissions: ['camera', 'microphone'],
  });
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = await context.newPage();
  const errors: string[] = [];
  const log: string[] = [];
  page.on('console', (msg) => {
    const line = `[${msg.type()}] ${msg.text()}`;
    log.push(line);
    if (msg.type() === 'error') errors.push(line);
  });
  page.on('pageerror', (err) => {
    const line = `[pageerror] ${err.stack ?? err.message}`;
    log.push(line);
    errors.push(line);
  });
  await page.goto(url);
  return { page, context, errors, log };
}

/** Fails with every error of every page, named by page. */
export function assertNoConsoleErrors(pages: Record<string, WatchedPage>): void {
  const found = Object.entries(pages).flatMap(([name, p]) => p.errors.map((e) => `${name}: ${e}`));
  if (found.length > 0) throw new Error(`console errors in the demo:\n${found.join('\n')}`);
}
