/**
 * A publisher at ten times its rate limit is throttled, not dropped: every frame is delivered
 * (later) with its RECEIPT, and a bystander's latency is not held hostage. The bystander's p99 is
 * measured idle and under the flood in the same run; the bound is generous (see below) because it
 * is an isolation property, not a speed target: a server that queued the flood ahead of everyone
 * (or spun on it) would add whole seconds, not milliseconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rawStomp,
  startServer,
  stompClient,
  until,
  wire,
  type RawStomp,
  type TestClient,
  type TestServer,
} from '../helpers/server.js';

const RATE = 200;
const FLOOD_FRAMES = 1000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ SEND_RATE_PER_S: String(RATE), SEND_BURST: '20' });
});
afterAll(async () => {
  await server.close();
});

/** Round trips of the bystander through a topic, one every 10 ms while `running()`; returns latencies in ms. */
async function pings(
  sender: TestClient,
  receiver: TestClient,
  topic: string,
  running: () => boolean,
): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  receiver.subscribe(topic).messages.push = (message) => {
    latencies.push(performance.now() - sentAt.get(message.body)!);
    return 0;
  };
  await receiver.sync();
  let n = 0;
  while (running()) {
    const body = `ping-${n++}`;
    sentAt.set(body, performance.now());
    sender.send(topic, body);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await until(() => latencies.length === n, 'every ping came back');
  return latencies;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

describe(`flood: a publisher at 10x SEND_RATE_PER_S (${RATE}/s)`, () => {
  it('gets every frame delivered with every RECEIPT, while a bystander keeps its latency', async () => {
    const bystanderSender = await stompClient(server);
    const bystanderReceiver = await stompClient(server);

    const idleUntil = performance.now() + 1500;
    const idle = await pings(
      bystanderSender,
      bystanderReceiver,
      '/topic/bystander-idle',
      () => performance.now() < idleUntil,
    );

    const subscriber: RawStomp = await rawStomp(server);
    await subscriber.connect();
    subscriber.send(wire('SUBSCRIBE', { id: 's', destination: '/topic/flood', receipt: 'ready' }));
    await subscriber.nextFrame();
    const publisher: RawStomp = await rawStomp(server);
    await publisher.connect();

    const started = performance.now();
    let flooding = true;
    const sending = (async () => {
      // 2000 frames/s on a schedule (timers oversleep, so each tick sends what is due), one WebSocket
      // message each, as a client library sends them.
      for (let sent = 0; sent < FLOOD_FRAMES;) {
        const due = Math.min(FLOOD_FRAMES, Math.ceil((performance.now() - started) * ((10 * RATE) / 1000)));
        for (; sent < due; sent++)
          publisher.send(wire('SEND', { destination: '/topic/flood', receipt: `r${sent}` }, `m${sent}`));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const underFlood = pings(bystanderSender, bystanderReceiver, '/topic/bystander-flood', () => flooding);
    await sending;
    const sentMs = performance.now() - started;
    await until(
      () => publisher.frames.pending.length === FLOOD_FRAMES && subscriber.frames.pending.length === FLOOD_FRAMES,
      'every RECEIPT and every MESSAGE arrived',
      30_000,
    );
    const drainedMs = performance.now() - started;
    flooding = false;
    const flood = await underFlood;
    // Idle again after the flood: noise from whatever else shares the machine lands in both samples.
    const idleAgainUntil = performance.now() + 1500;
    idle.push(
      ...(await pings(
        bystanderSender,
        bystanderReceiver,
        '/topic/bystander-idle-after',
        () => performance.now() < idleAgainUntil,
      )),
    );

    expect(publisher.frames.pending.map((f) => f.headers['receipt-id'])).toEqual(
      Array.from({ length: FLOOD_FRAMES }, (_, i) => `r${i}`),
    );
    expect(subscriber.frames.pending.map((f) => Buffer.from(f.body).toString())).toEqual(
      Array.from({ length: FLOOD_FRAMES }, (_, i) => `m${i}`),
    );
    // Throttled, not dropped: the publisher sent about ten times faster than it was served.
    const sendRate = (FLOOD_FRAMES / sentMs) * 1000;
    expect(sendRate).toBeGreaterThan(8 * RATE);
    expect(drainedMs).toBeGreaterThan(((FLOOD_FRAMES - 20) / RATE) * 1000 * 0.9);

    // A few-millisecond idle p99 on loopback is scheduler noise (two cores shared by many processes
    // here), so the ratio is taken from a 20 ms floor. A flood that got ahead of the bystander would
    // add seconds: 1000 frames at 200/s is a 5 s backlog.
    const idleP99 = p99(idle);
    const floodP99 = p99(flood);
    console.log(
      `flood: ${FLOOD_FRAMES} frames sent in ${sentMs.toFixed(0)} ms (${sendRate.toFixed(0)}/s), all delivered in ${drainedMs.toFixed(0)} ms; ` +
        `bystander p99 idle ${idleP99.toFixed(2)} ms (${idle.length} pings), under flood ${floodP99.toFixed(2)} ms (${flood.length} pings)`,
    );
    expect(floodP99).toBeLessThanOrEqual(2 * Math.max(idleP99, 20));
    expect(bystanderReceiver.errors.all).toEqual([]);
    publisher.close();
    subscriber.close();
    await bystanderSender.close();
    await bystanderReceiver.close();
  });
});
