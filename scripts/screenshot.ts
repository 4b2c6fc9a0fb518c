/**
 * Takes docs/demo.png, the README's picture of the demo: builds the demo if needed, starts a server
 * on a free port, opens two Chromium pages in one room, lets them talk (and call, when the client
 * library carries media), and photographs the first page.
 *
 *   npx tsx scripts/screenshot.ts [--out docs/demo.png] [--dark] [--mobile] [--no-video]
 *
 * Needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH). With DEMO_DIR set, that build is served as
 * it is (as by `npm start`).
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { launchChromium, openPage, assertNoConsoleErrors, type WatchedPage } from '../test/helpers/chromium.js';
import { ensureDemo, REPO_ROOT } from './demo-build.mjs';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/demo.png' },
    dark: { type: 'boolean', default: false },
    mobile: { type: 'boolean', default: false },
    'no-video': { type: 'boolean', default: false },
  },
});

const DEMO_DIR = process.env.DEMO_DIR || 'dist/demo';
const WAIT_MS = 20_000;
const viewport = args.mobile ? { width: 390, height: 780 } : { width: 1280, height: 800 };

if (!process.env.DEMO_DIR) await ensureDemo(DEMO_DIR);
const app = await buildApp(
  loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DEMO_DIR: resolve(REPO_ROOT, DEMO_DIR) }),
);
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const browser = await launchChromium();

try {
  const colorScheme = args.dark ? 'dark' : 'light';
  const open = (name: string) =>
    openPage(browser, `${base}/?room=design-review&name=${encodeURIComponent(name)}`, {
      viewport,
      colorScheme,
      deviceScaleFactor: 2,
    });
  const ada = await open('Ada Lovelace');
  await ada.page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: WAIT_MS });
  const grace = await open('Grace Hopper');
  for (const page of [ada, grace]) {
    await page.page.locator('[data-testid=peer][data-link=p2p]').waitFor({ timeout: WAIT_MS });
  }

  const say = async (page: WatchedPage, text: string) => {
    await page.page.getByTestId('chat-input').fill(text);
    await page.page.getByTestId('chat-send').click();
    for (const p of [ada, grace]) {
      await p.page.getByTestId('message').filter({ hasText: text }).waitFor({ timeout: WAIT_MS });
    }
  };
  await say(grace, 'Morning! Is the direct link up on your side?');
  await say(ada, 'Yes, the badge says p2p: messages skip the server entirely.');
  await say(ada, 'If a firewall blocks it, they go through TURN or the relay instead.');
  await say(grace, 'Nice. Let me start the camera.');

  const call = ada.page.getByTestId('call');
  if (!args['no-video'] && (await call.isEnabled())) {
    await call.click();
    await grace.page.getByTestId('call').click();
    for (const page of [ada, grace]) {
      await page.page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLVideoElement>('[data-testid=remote-video]')].some(
            (v) => v.videoWidth > 0 && v.currentTime > 0.5,
          ),
        null,
        { timeout: WAIT_MS },
      );
    }
  } else if (!args['no-video']) {
    console.warn(
      'screenshot: the call button is disabled (no media support in the client library): no video in the picture',
    );
  }
  // The blinking caret and hover states are not part of the picture.
  await ada.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await ada.page.mouse.move(0, 0);

  const out = resolve(REPO_ROOT, args.out);
  await mkdir(dirname(out), { recursive: true });
  await ada.page.screenshot({ path: out, animations: 'disabled' });
  assertNoConsoleErrors({ ada, grace });
  console.log(`screenshot: wrote ${out}`);
} finally {
  await browser.close();
  await app.close();
}
