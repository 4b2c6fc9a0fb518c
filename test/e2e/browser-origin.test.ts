/**
 * ALLOWED_ORIGINS in a real browser: the same page, served by the test under two host names
 * (`localhost`, which is listed, and `127.0.0.1`, which is not), opens /ws and /sockjs. Chromium
 * sends the page's Origin itself; the foreign page is refused with 403 before the upgrade or the
 * SockJS handshake, the listed one gets CONNECTED.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium, openPage, type WatchedPage } from '../helpers/chromium.js';
import { describeWith } from '../helpers/requirements.js';
import { startServer, type TestServer } from '../helpers/server.js';

describeWith(chromiumMissing, 'ALLOWED_ORIGINS in Chromium', () => {
  let pages: Server;
  let pagePort: number;
  let server: TestServer;
  let browser: Browser;
  const opened: WatchedPage[] = [];

  beforeAll(async () => {
    pages = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>a page of some origin</title>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagePort = (pages.address() as AddressInfo).port;
    server = await startServer({ ALLOWED_ORIGINS: `http://localhost:${pagePort}` });
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const page of opened) await page.context.close();
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => pages?.close(resolve));
  });

  async function pageOf(host: string): Promise<WatchedPage> {
    const page = await openPage(browser, `http://${host}:${pagePort}/`);
    opened.push(page);
    return page;
  }

  /** What the page's WebSocket to /ws gets: the first line of the answer to CONNECT, or its close code. */
  function overWebSocket(page: WatchedPage): Promise<string> {
    return page.page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(url, ['v12.stomp']);
          socket.onopen = () => socket.send('CONNECT\naccept-version:1.2\nhost:stomprtc\n\n\0');
          socket.onmessage = (event) => {
            resolve(String(event.data).split('\n')[0]!);
            socket.close();
          };
          socket.onclose = (event) => resolve(`closed ${event.code}`);
        }),
      server.wsUrl,
    );
  }

  /** The same over SockJS (HTTP transports only), with the client script the server serves. */
  async function overSockJs(page: WatchedPage): Promise<string> {
    await page.page.addScriptTag({ url: `${server.httpUrl}/sockjs-client.min.js` });
    return page.page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const SockJS = (window as unknown as { SockJS: new (url: string, _: null, options: object) => WebSocket })
            .SockJS;
          const socket = new SockJS(url, null, { transports: ['xhr-streaming', 'xhr-polling'] });
          socket.onopen = () => socket.send('CONNECT\naccept-version:1.2\nhost:stomprtc\n\n\0');
          socket.onmessage = (event) => {
            resolve(String(event.data).split('\n')[0]!);
            socket.close();
          };
          socket.onclose = (event) => resolve(`closed ${event.code}`);
        }),
      server.sockjsUrl,
    );
  }

  it('connects a page of the listed origin over WebSocket and SockJS', async () => {
    const page = await pageOf('localhost');
    expect(await overWebSocket(page)).toBe('CONNECTED');
    expect(await overSockJs(page)).toBe('CONNECTED');
  });

  it('refuses a page of another origin with 403 before the WebSocket upgrade', async () => {
    const page = await pageOf('127.0.0.1');
    expect(await overWebSocket(page)).toBe('closed 1006');
    expect(page.log.join('\n')).toMatch(
      /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed: Error during WebSocket handshake: Unexpected response code: 403/,
    );
  });

  it('refuses a page of another origin with 403 on the SockJS handshake', async () => {
    const page = await pageOf('127.0.0.1');
    // The browser hides a refused cross-origin answer from the page, so the server's side is watched.
    const answered: Array<[string, number]> = [];
    const watch = (request: IncomingMessage, response: ServerResponse) => {
      response.on('finish', () => answered.push([new URL(request.url!, 'http://x').pathname, response.statusCode]));
    };
    server.app.server.on('request', watch);
    try {
      expect(await overSockJs(page)).toMatch(/^closed \d+$/);
    } finally {
      server.app.server.off('request', watch);
    }
    expect(answered).toContainEqual(['/sockjs/info', 403]);
    expect(answered.filter(([path, status]) => path.startsWith('/sockjs/') && status !== 403)).toEqual([]);
    expect(page.log.join('\n')).toMatch(
      /Access to XMLHttpRequest at 'http:\/\/127\.0\.0\.1:\d+\/sockjs\/info\?t=\d+' from origin 'http:\/\/127\.0\.0\.1:\d+' has been blocked/,
    );
  });
});
