/**
 * The relay's STOMP client connection (server/src/broker/stomp-tcp-connection.ts) against a small
 * STOMP server of this file's own over real TCP: what one turn sends goes out as one batch, and
 * batching never holds a frame back or reorders anything.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StompTcpConnection } from '../../server/src/broker/stomp-tcp-connection.js';
import { CORK_FLUSH_BYTES } from '../../server/src/config.js';
import { frame, type StompFrame } from '../../shared/src/stomp/frame.js';
import { FrameDecoder } from '../../shared/src/stomp/frame-decoder.js';
import { encodeFrame } from '../../shared/src/stomp/frame-encoder.js';
import { DEFAULT_DECODER_LIMITS } from '../../shared/src/stomp/limits.js';

/** Answers CONNECT with CONNECTED and any frame with a receipt header with its RECEIPT; keeps every frame. */
async function fakeBroker(): Promise<{ server: Server; port: number; frames: StompFrame[] }> {
  const frames: StompFrame[] = [];
  const server = createServer((socket) => {
    const decoder = new FrameDecoder(
      { version: '1.2', limits: { ...DEFAULT_DECODER_LIMITS, maxFrameBytes: 1 << 20 } },
      (received) => {
        frames.push(received);
        if (received.command === 'CONNECT') socket.write(encodeFrame(frame('CONNECTED', { version: '1.2' }), '1.2'));
        const receipt = received.headers.receipt;
        if (receipt) socket.write(encodeFrame(frame('RECEIPT', { 'receipt-id': receipt }), '1.2'));
      },
      () => {},
    );
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, frames };
}

const servers: Server[] = [];
const connections: StompTcpConnection[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  // A test that failed midway leaves its connection open, and server.close() waits for it.
  for (const connection of connections.splice(0)) connection.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function connected(): Promise<{ connection: StompTcpConnection; frames: StompFrame[] }> {
  const broker = await fakeBroker();
  servers.push(broker.server);
  const connection = await StompTcpConnection.open({
    host: '127.0.0.1',
    port: broker.port,
    login: 'guest',
    passcode: 'guest',
    vhost: '/',
    heartbeatMs: 0,
    timeoutMs: 5_000,
    limits: DEFAULT_DECODER_LIMITS,
  });
  connections.push(connection);
  return { connection, frames: broker.frames };
}

function send(connection: StompTcpConnection, n: number, bodyBytes = 100): void {
  connection.send({
    command: 'SEND',
    headers: { destination: `/topic/t`, n: String(n) },
    body: new Uint8Array(bodyBytes),
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('StompTcpConnection', () => {
  it('writes what one turn sends in one batch, in order', async () => {
    const { connection, frames } = await connected();
    const writes = vi.spyOn(Socket.prototype, 'write');
    const writevs = vi.spyOn(Socket.prototype as unknown as { _writev: () => void }, '_writev');
    for (let n = 0; n < 50; n++) send(connection, n);
    await until(() => frames.length === 51);
    expect(writes).toHaveBeenCalledTimes(50);
    expect(writevs).toHaveBeenCalledTimes(1);
    expect(frames.slice(1).map((f) => f.headers.n)).toEqual(Array.from({ length: 50 }, (_, n) => String(n)));
    await connection.disconnect();
  });

  it('sends a lone frame without waiting for company, and batches of a later turn after it', async () => {
    const { connection, frames } = await connected();
    send(connection, 0);
    await until(() => frames.length === 2);
    send(connection, 1);
    send(connection, 2);
    await until(() => frames.length === 4);
    expect(frames.slice(1).map((f) => f.headers.n)).toEqual(['0', '1', '2']);
    await connection.disconnect();
  });

  it(`lets a batch go at once past CORK_FLUSH_BYTES (${CORK_FLUSH_BYTES} bytes) and keeps the order`, async () => {
    const { connection, frames } = await connected();
    const writevs = vi.spyOn(Socket.prototype as unknown as { _writev: () => void }, '_writev');
    const bodyBytes = 1_000;
    const count = Math.ceil((3 * CORK_FLUSH_BYTES) / bodyBytes);
    for (let n = 0; n < count; n++) send(connection, n, bodyBytes);
    // The batches that filled up went out before the turn ended; the rest goes with the turn.
    expect(writevs.mock.calls.length).toBeGreaterThanOrEqual(2);
    await until(() => frames.length === count + 1);
    expect(frames.slice(1).map((f) => Number(f.headers.n))).toEqual(Array.from({ length: count }, (_, n) => n));
    await connection.disconnect();
  });

  it('sends what was batched before its DISCONNECT', async () => {
    const { connection, frames } = await connected();
    for (let n = 0; n < 5; n++) send(connection, n);
    await connection.disconnect();
    expect(frames.map((f) => f.command)).toEqual(['CONNECT', 'SEND', 'SEND', 'SEND', 'SEND', 'SEND', 'DISCONNECT']);
    expect(connection.state).toBe('closed');
  });
});
