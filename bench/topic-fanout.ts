/**
 * Messages per second through one /topic with 100 subscribers, against a plain `ws` broadcast
 * loop measured in the same run on the same machine. Both sides publish in windows (the next
 * window goes when every subscriber has the last one), so neither is measured by its buffering.
 */
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';

const SUBSCRIBERS = 100;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const WINDOW = 50;
const BODY = 'x'.repeat(100);

interface Run { messagesPerSecond: number; deliveriesPerSecond: number; ms: number }

async function measure(publish: (i: number) => void, received: () => number): Promise<Run> {
  const start = performance.now();
  for (let sent = 0; sent < MESSAGES; sent += WINDOW) {
    for (let i = sent; i < Math.min(sent + WINDOW, MESSAGES); i++) publish(i);
    const target = Math.min(sent + WINDOW, MESSAGES) * SUBSCRIBERS;
    while (received() < target) await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - start;
  return { ms, messagesPerSecond: (MESSAGES / ms) * 1000, deliveriesPerSecond: (MESSAGES * SUBSCRIBERS / ms) * 1000 };
}

function open(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function baseline(): Promise<Run> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  let received = 0;
  const clients = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open(url)));
  for (const c of clients) c.on('message', () => received++);
  const run = await measure(() => { for (const c of wss.clients) c.send(BODY); }, () => received);
  for (const c of clients) c.close();
  await new Promise((r) => wss.close(r));
  return run;
}

async function stomprtc(): Promise<Run> {
  const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'error', HEARTBEAT_MS: '0', SEND_RATE_PER_S: '1000000', SEND_BURST: '1000000' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`;
  let received = 0;
  const connectFrame = 'CONNECT\naccept-version:1.2\nhost:bench\nheart-beat:0,0\n\n\0';
  const subscribers = await Promise.all(Array.from({ length: SUBSCRIBERS }, async (_, i) => {
    const ws = await open(url, ['v12.stomp']);
    let subscribed = false;
    await new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        if (!subscribed) {
          subscribed = true;
          ws.send(`SUBSCRIBE\nid:s${i}\ndestination:/topic/bench\nreceipt:r\n\n\0`);
          return;
        }
        if (data.subarray(0, 7).toString() === 'RECEIPT') return resolve();
        received++;
      });
      ws.send(connectFrame);
    });
    return ws;
  }));
  const publisher = await open(url, ['v12.stomp']);
  await new Promise<void>((resolve) => { publisher.once('message', () => resolve()); publisher.send(connectFrame); });
  const sendFrame = `SEND\ndestination:/topic/bench\ncontent-type:text/plain\n\n${BODY}\0`;
  const run = await measure(() => publisher.send(sendFrame), () => received);
  for (const ws of [...subscribers, publisher]) ws.close();
  await app.close();
  return run;
}

const base = await baseline();
const ours = await stomprtc();
const result = {
  bench: 'topic-fanout',
  subscribers: SUBSCRIBERS,
  messages: MESSAGES,
  baselineWsBroadcast: { messagesPerSecond: Math.round(base.messagesPerSecond), deliveriesPerSecond: Math.round(base.deliveriesPerSecond) },
  stomprtcTopic: { messagesPerSecond: Math.round(ours.messagesPerSecond), deliveriesPerSecond: Math.round(ours.deliveriesPerSecond) },
  ratio: Number((ours.messagesPerSecond / base.messagesPerSecond).toFixed(3)),
};
console.log(JSON.stringify(result, null, 2));
