/**
 * Who may open /ws and /sockjs, on real sockets: ALLOWED_ORIGINS (403 before the upgrade or the
 * SockJS handshake), MAX_CONNECTIONS_PER_IP (429 before the upgrade; ERROR TOO_MANY_CONNECTIONS on
 * a SockJS session) and TRUST_PROXY (the address read from X-Forwarded-For).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  rawStomp,
  startServer,
  stompClient,
  type RawStomp,
  type TestClient,
  type TestServer,
} from '../helpers/server.js';

let opened: Array<WebSocket | RawStomp | TestClient> = [];
afterEach(async () => {
  for (const item of opened) {
    if (item instanceof WebSocket) item.terminate();
    else if ('client' in item) await item.close();
    else item.close();
  }
  opened = [];
});

/** The HTTP status a WebSocket handshake got: 101 when it upgraded. */
function handshake(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, ['v12.stomp'], { headers });
    opened.push(socket);
    socket.once('open', () => resolve(101));
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
    });
    socket.once('error', reject);
  });
}

describe('ALLOWED_ORIGINS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ALLOWED_ORIGINS: 'https://app.test,http://localhost:5173' });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['a listed origin', { Origin: 'https://app.test' }, 101],
    ['another listed origin', { Origin: 'http://localhost:5173' }, 101],
    ["the server's own origin", {}, 101],
    ['no Origin (a non-browser client)', {}, 101],
    ['a foreign origin', { Origin: 'https://evil.test' }, 403],
    ['a listed host on another scheme', { Origin: 'http://app.test' }, 403],
    ['a listed host on another port', { Origin: 'http://localhost:5174' }, 403],
    ['the literal "null" of a sandboxed page', { Origin: 'null' }, 403],
  ])('answers a WebSocket handshake from %s with %i', async (label, headers, status) => {
    const own = label.startsWith('the server') ? { Origin: `http://127.0.0.1:${server.port}` } : {};
    expect(await handshake(server.wsUrl, { ...headers, ...own })).toBe(status);
  });

  it('refuses the SockJS handshake (/info, xhr, iframe) of a foreign page with 403, and serves a listed one', async () => {
    const info = (origin: string) => fetch(`${server.sockjsUrl}/info`, { headers: { Origin: origin } });
    const refused = await info('https://evil.test');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('origin https://evil.test may not open this endpoint (ALLOWED_ORIGINS)\n');
    const served = await info('https://app.test');
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe('https://app.test');
    const xhr = await fetch(`${server.sockjsUrl}/000/abcdefgh/xhr`, {
      method: 'POST',
      headers: { Origin: 'https://evil.test' },
    });
    expect(xhr.status).toBe(403);
    const iframe = await fetch(`${server.sockjsUrl}/iframe.html`, {
      headers: { Referer: 'https://evil.test/page.html' },
    });
    expect(iframe.status).toBe(403);
    expect(
      (await fetch(`${server.sockjsUrl}/iframe.html`, { headers: { Referer: 'https://app.test/page.html' } })).status,
    ).toBe(200);
    expect(
      await handshake(`ws://127.0.0.1:${server.port}/sockjs/000/abcdefgh/websocket`, { Origin: 'https://evil.test' }),
    ).toBe(403);
  });

  it('lets a SockJS client without Origin through', async () => {
    const client = await stompClient(server, { transport: 'sockjs' });
    opened.push(client);
    expect(client.peerId).toEqual(expect.any(String));
  });
});

describe('MAX_CONNECTIONS_PER_IP=2', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ MAX_CONNECTIONS_PER_IP: '2' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a third WebSocket from one address with 429 before the upgrade, and takes it again once one closed', async () => {
    const first = await rawStomp(server);
    const second = await rawStomp(server);
    opened.push(first, second);
    expect(await handshake(server.wsUrl)).toBe(429);
    first.close();
    await first.waitForClose();
    // The server hears the close a moment after the client: retry until the slot is free (a liveness bound).
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 101; attempt++) {
      status = await handshake(server.wsUrl);
      if (status !== 101) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(101);
  });

  it('closes a third SockJS session from one address with ERROR TOO_MANY_CONNECTIONS', async () => {
    const a = await stompClient(server, { transport: 'sockjs' });
    const b = await stompClient(server, { transport: 'sockjs' });
    opened.push(a, b);
    await expect(stompClient(server, { transport: 'sockjs' })).rejects.toThrow(/closed before CONNECTED/);
    const refused = await fetch(`${server.httpUrl}/metrics`).then((r) => r.text());
    expect(refused).toMatch(/code="TOO_MANY_CONNECTIONS"\} 1/);
  });
});

describe('TRUST_PROXY=1 with MAX_CONNECTIONS_PER_IP=1', () => {
  let server: TestServer;
  let untrusting: TestServer;
  beforeAll(async () => {
    server = await startServer({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: '1' });
    untrusting = await startServer({ MAX_CONNECTIONS_PER_IP: '1' });
  });
  afterAll(async () => {
    await server.close();
    await untrusting.close();
  });

  it('counts clients by the address the proxy appended to X-Forwarded-For, not by what the client claimed', async () => {
    expect(await handshake(server.wsUrl, { 'X-Forwarded-For': '203.0.113.7' })).toBe(101);
    expect(await handshake(server.wsUrl, { 'X-Forwarded-For': '203.0.113.8' })).toBe(101);
    // A client that forges a first entry is still known by the entry its proxy added.
    expect(await handshake(server.wsUrl, { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7' })).toBe(429);
  });

  it('ignores X-Forwarded-For without TRUST_PROXY (anyone could send it)', async () => {
    expect(await handshake(untrusting.wsUrl, { 'X-Forwarded-For': '203.0.113.7' })).toBe(101);
    expect(await handshake(untrusting.wsUrl, { 'X-Forwarded-For': '203.0.113.8' })).toBe(429);
  });
});
