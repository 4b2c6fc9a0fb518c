/**
 * A SockJS session that stops reading is a slow consumer like a WebSocket one: what waits for it
 * (sockjs's send buffer and the unread response) counts against OUTBOUND_BUFFER_BYTES, and it is
 * closed with ERROR SLOW_CONSUMER instead of growing the server. The reader is a raw HTTP client
 * on a net.Socket that opens an xhr-streaming response and then pauses.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawStomp, startServer, until, wire, type TestServer } from '../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ OUTBOUND_BUFFER_BYTES: '65536', SEND_RATE_PER_S: '100000', SEND_BURST: '100000' });
});
afterAll(async () => {
  await server.close();
});

async function metric(code: string): Promise<number> {
  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith(`stomprtc_errors_total{code="${code}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Opens an xhr-streaming response on a raw socket; `received` collects what was read before pausing. */
async function streamingReader(path: string): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(server.port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`POST ${path}/xhr_streaming HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`);
  await until(() => received.includes('\no\n'), 'the SockJS open frame arrived');
  return { socket, received: () => received };
}

async function xhrSend(path: string, frames: string[]): Promise<void> {
  const response = await fetch(`${server.httpUrl}${path}/xhr_send`, { method: 'POST', body: JSON.stringify(frames) });
  expect(response.status).toBe(204);
}

describe('SockJS slow consumer', () => {
  it('closes an xhr-streaming session that stops reading with SLOW_CONSUMER, and the server does not grow with the flood', async () => {
    const path = `/sockjs/000/slow${process.pid}`;
    const reader = await streamingReader(path);
    await xhrSend(path, [wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc' })]);
    await until(() => reader.received().includes('CONNECTED'), 'CONNECTED arrived');
    await xhrSend(path, [wire('SUBSCRIBE', { id: 's', destination: '/topic/sockjs-firehose', receipt: 'ready' })]);
    await until(() => reader.received().includes('receipt-id:ready'), 'the SUBSCRIBE receipt arrived');
    reader.socket.pause();

    gc();
    const before = process.memoryUsage().heapUsed;
    const sender = await rawStomp(server);
    await sender.connect();
    const chunk = 'x'.repeat(32 * 1024);
    // 24 MiB toward a reader that reads nothing, in steps the sender's own socket can keep up with.
    for (let i = 0; i < 768; i++) {
      sender.send(wire('SEND', { destination: '/topic/sockjs-firehose' }, chunk));
      if (i % 32 === 31) {
        sender.send(wire('SEND', { destination: '/topic/sync', receipt: `sync-${i}` }));
        await until(
          () => sender.frames.all.some((f) => f.headers['receipt-id'] === `sync-${i}`),
          'the server took the step',
        );
      }
    }
    await until(() => sender.frames.all.length >= 24, 'every step was taken');
    expect(await metric('SLOW_CONSUMER')).toBe(1);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // Unbounded, the flood would sit in sockjs's send buffer: about 24 MiB (as JSON-quoted strings).
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    reader.socket.destroy();
    sender.close();
  });
});
