/**
 * The README's "Deploying" section, run for real: its command starts `npx stomprtc` from the
 * installed tarball, and Debian's nginx on its configuration, with a self-signed certificate,
 * terminates TLS in front of it. Only ports, paths and the origin change. Two Chromium pages of the
 * demo chat through it over WebSocket and over SockJS (its xhr-streaming too); other sites' pages
 * are refused.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  assertNoConsoleErrors,
  chromiumMissing,
  launchChromium,
  openPage,
  type PageOptions,
} from '../helpers/chromium.js';
import { DemoPage, roomId } from '../helpers/demo-page.js';
import { nginxMissing, selfSignedCertificate, startNginx } from '../helpers/nginx.js';
import { PACK_TIMEOUT_MS, Program, userProject, waitForHttp } from '../helpers/packed.js';
import { readmeBlock } from '../helpers/readme-snippets.js';
import { describeWith } from '../helpers/requirements.js';
import { freePort } from '../helpers/free-port.js';

/** Replaces `from` (which must be there: the README's block is what is tested) with `to`. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the README's nginx block no longer contains "${from}"`);
  return text.replaceAll(from, to);
}

/** GET over TLS trusting only `ca`, without following redirects. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Takes WebSocket away from a page and notes the path of every XMLHttpRequest it opens. */
const NO_WEBSOCKET = `delete window.WebSocket;
window.xhrPaths = [];
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (method, url, ...rest) {
  window.xhrPaths.push(new URL(url, location.href).pathname);
  return open.call(this, method, url, ...rest);
};`;

/** Opens a WebSocket from a page of `origin`; resolves with 101 when it upgrades, else the HTTP status. */
function upgrade(url: string, origin: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, ['v12.stomp'], { ca, origin });
    socket.once('open', () => {
      socket.once('close', () => resolve(101));
      socket.close();
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (err) => reject(err));
  });
}

const missing = chromiumMissing ?? nginxMissing;

describeWith(missing, 'behind nginx with TLS, as README "Deploying" configures it', () => {
  let dir: string;
  let stomprtc: Program | undefined;
  let nginx: Program | undefined;
  let browser: Browser | undefined;
  let httpsUrl: string;
  let httpPort: number;
  let ca: string;
  let pages: DemoPage[] = [];

  beforeAll(async () => {
    const project = await userProject('runtime');
    const appPort = await freePort();
    const httpsPort = await freePort();
    httpPort = await freePort();
    httpsUrl = `https://127.0.0.1:${httpsPort}`;
    // The README's command, on the test's port, allowing the pages the test's nginx serves.
    let command = readmeBlock('Deploying', 'sh').trim();
    command = substitute(command, 'PORT=8080', `PORT=${appPort}`);
    command = substitute(command, 'https://rtc.example.com', httpsUrl);
    stomprtc = Program.start('the README command', 'bash', ['-c', command], { cwd: project.dir });
    await waitForHttp(`http://127.0.0.1:${appPort}/healthz`, 30_000, stomprtc);
    dir = mkdtempSync(join(tmpdir(), 'stomprtc-nginx-'));
    const { cert, key } = selfSignedCertificate(dir);
    ca = readFileSync(cert, 'utf8');
    let config = readmeBlock('Deploying', 'nginx');
    config = substitute(config, 'server 127.0.0.1:8080;', `server 127.0.0.1:${appPort};`);
    config = substitute(config, 'listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`);
    config = substitute(config, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
    config = substitute(config, '/etc/letsencrypt/live/rtc.example.com/fullchain.pem', cert);
    config = substitute(config, '/etc/letsencrypt/live/rtc.example.com/privkey.pem', key);
    nginx = await startNginx(dir, config);
    await waitForHttp(`http://127.0.0.1:${httpPort}/`, 10_000, nginx);
    browser = await launchChromium(['--ignore-certificate-errors']);
  }, PACK_TIMEOUT_MS);

  afterEach(async () => {
    const closing = pages;
    pages = [];
    try {
      assertNoConsoleErrors(Object.fromEntries(closing.map((p) => [p.name, p.watched])));
    } finally {
      await Promise.all(closing.map((p) => p.watched.context.close().catch(() => undefined)));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await nginx?.stop();
    await stomprtc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, query: string, options?: PageOptions): Promise<DemoPage> {
    const page = new DemoPage(name, await openPage(browser!, `${httpsUrl}/?${query}`, options));
    pages.push(page);
    return page;
  }

  it('serves the demo and /healthz over HTTPS, hides /metrics, and redirects plain HTTP', async () => {
    expect(await httpsGet(`${httpsUrl}/`, ca)).toMatchObject({ status: 200, body: expect.stringContaining('<html') });
    expect((await httpsGet(`${httpsUrl}/healthz`, ca)).status).toBe(200);
    expect((await httpsGet(`${httpsUrl}/metrics`, ca)).status).toBe(404);
    const plain = await fetch(`http://127.0.0.1:${httpPort}/?room=a`, { redirect: 'manual' });
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toBe('https://127.0.0.1/?room=a');
  });

  it('upgrades /ws for the allowed origin and refuses a page of another site with 403', async () => {
    expect(await upgrade(`${httpsUrl.replace('https', 'wss')}/ws`, httpsUrl, ca)).toBe(101);
    expect(await upgrade(`${httpsUrl.replace('https', 'wss')}/ws`, 'https://elsewhere.example', ca)).toBe(403);
  });

  it('two pages chat over wss:// through the proxy and link p2p', async () => {
    const room = roomId('nginx-ws');
    const ann = await open('ann', `room=${room}&name=Ann`);
    await ann.waitForStatus('connected');
    const bob = await open('bob', `room=${room}&name=Bob`);
    await ann.waitForPeers(1, 'p2p');
    await bob.waitForPeers(1, 'p2p');
    await ann.send('hello through nginx');
    await bob.waitForMessage(['Ann', 'hello through nginx']);
    await bob.send('and back');
    await ann.waitForMessage(['Bob', 'and back']);
  });

  it('two pages chat over SockJS through the proxy: one on its websocket transport, one on xhr-streaming', async () => {
    const room = roomId('nginx-sockjs');
    const ws = await open('sockjs-websocket', `room=${room}&name=Sam&transport=sockjs`);
    await ws.waitForStatus('connected');
    // Without WebSocket in the page (as behind a proxy that refuses upgrades), SockJS streams over XHR.
    const xhr = await open('sockjs-xhr', `room=${room}&name=Xan&transport=sockjs`, { initScript: NO_WEBSOCKET });
    await xhr.waitForStatus('connected');
    await ws.waitForPeers(1, 'p2p');
    await xhr.waitForPeers(1, 'p2p');
    await ws.send('from the websocket transport');
    await xhr.waitForMessage(['Sam', 'from the websocket transport']);
    await xhr.send('from xhr-streaming');
    await ws.waitForMessage(['Xan', 'from xhr-streaming']);
    // A streaming response never ends, so it is not in the page's resource timing: the page noted it.
    const paths = await xhr.page.evaluate(() => (window as any).xhrPaths as string[]);
    expect(paths.filter((p) => /^\/sockjs\/[^/]+\/[^/]+\/xhr_streaming$/.test(p))).toHaveLength(1);
    // No fall back to polling: a proxy that buffers the stream makes SockJS give up on streaming.
    expect(paths.filter((p) => /^\/sockjs\/[^/]+\/[^/]+\/xhr$/.test(p))).toEqual([]);
    expect(paths.some((p) => /^\/sockjs\/[^/]+\/[^/]+\/xhr_send$/.test(p))).toBe(true);
    // A string, so that `WebSocket` means the page's, not this file's import from ws.
    expect(await xhr.page.evaluate('typeof WebSocket')).toBe('undefined');
  });
});
