/**
 * The cost of end-to-end encryption on the relay, measured in one run against its own baseline:
 * two relay-only members of a loopback server, once with end-to-end encryption (the default) and
 * once with `endToEnd: false` (the relay in clear, as before).
 *
 * - throughput: messages/s from the first send to the last delivery of a burst of BURST messages
 *   (paced by the client's relay token bucket, so both variants meet the same send limit);
 * - latency: median and p95 of send → delivery for messages sent one at a time;
 * - join → first message: from the second member's join() call to the delivery of a message the
 *   first member sends as soon as it sees the second arrive (includes the key agreement).
 */
import type { AddressInfo } from 'node:net';
import type { Session } from '../client/src/index.js';
import { compiledClient, compiledServer } from './compiled.js';
import type { Room } from '../client/src/room.js';

const [{ buildApp, loadConfig }, { connect }] = await Promise.all([compiledServer(), compiledClient()]);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BURST = Number(process.env.BENCH_BURST ?? 600);
const PINGS = Number(process.env.BENCH_PINGS ?? 100);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
const round = (n: number) => Math.round(n * 100) / 100;

let roomCounter = 0;
async function members(url: string, endToEnd: boolean, passphrase?: string) {
  const roomId = `bench-e2e-${++roomCounter}`;
  const sessions: Session[] = [];
  const rooms: Room[] = [];
  for (const name of ['ann', 'bob']) {
    const session = await connect(url, { relayOnly: true });
    sessions.push(session);
    rooms.push(await session.join(roomId, { name, endToEnd, ...(passphrase ? { passphrase } : {}) }));
  }
  const [ann, bob] = rooms as [Room, Room];
  while (ann.peers.length === 0 || bob.peers.length === 0) await new Promise((r) => setTimeout(r, 5));
  const close = () => Promise.all(sessions.map((s) => s.close()));
  return { ann, bob, close };
}

async function throughput(url: string, endToEnd: boolean): Promise<number> {
  const { ann, bob, close } = await members(url, endToEnd);
  try {
    let got = 0;
    const done = new Promise<void>((resolve) =>
      bob.on('message', () => {
        if (++got === BURST) resolve();
      }),
    );
    // The first message waits for the hello (and the keys): start the clock after it arrived.
    const first = new Promise<void>((resolve) => bob.once('message', () => resolve()));
    ann.send('warm-up');
    await first;
    got = 0;
    const start = performance.now();
    for (let i = 0; i < BURST; i++) ann.send(`message ${i} ${'x'.repeat(100)}`);
    await done;
    return BURST / ((performance.now() - start) / 1000);
  } finally {
    await close();
  }
}

async function latency(url: string, endToEnd: boolean): Promise<number[]> {
  const { ann, bob, close } = await members(url, endToEnd);
  try {
    const samples: number[] = [];
    for (let i = 0; i <= PINGS; i++) {
      const arrived = new Promise<void>((resolve) => bob.once('message', () => resolve()));
      const start = performance.now();
      ann.send(`ping ${i}`);
      await arrived;
      if (i > 0) samples.push(performance.now() - start); // the first one waits for the hello
    }
    return samples;
  } finally {
    await close();
  }
}

async function joinToFirstMessage(url: string, endToEnd: boolean, passphrase?: string): Promise<number> {
  const roomId = `bench-e2e-join-${++roomCounter}`;
  const a = await connect(url, { relayOnly: true });
  const b = await connect(url, { relayOnly: true });
  try {
    const ann = await a.join(roomId, { name: 'ann', endToEnd, ...(passphrase ? { passphrase } : {}) });
    ann.once('peer-joined', (peer) => ann.sendTo(peer.id, 'welcome'));
    const start = performance.now();
    const bob = await b.join(roomId, { name: 'bob', endToEnd, ...(passphrase ? { passphrase } : {}) });
    await new Promise<void>((resolve) => bob.once('message', () => resolve()));
    return performance.now() - start;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'error' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`;

const result: Record<string, Record<string, number>> = {};
for (const [label, endToEnd] of [
  ['clear', false],
  ['encrypted', true],
] as const) {
  const rates: number[] = [];
  const lat: number[] = [];
  const joins: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    rates.push(await throughput(url, endToEnd));
    lat.push(...(await latency(url, endToEnd)));
    joins.push(await joinToFirstMessage(url, endToEnd));
  }
  result[label] = {
    messagesPerSecond: round(quantile(rates, 0.5)),
    latencyMedianMs: round(quantile(lat, 0.5)),
    latencyP95Ms: round(quantile(lat, 0.95)),
    joinToFirstMessageMs: round(quantile(joins, 0.5)),
  };
}
const withPassphrase: number[] = [];
for (let run = 0; run < RUNS; run++)
  withPassphrase.push(await joinToFirstMessage(url, true, 'a long shared passphrase'));
result.encrypted!.joinToFirstMessageWithPassphraseMs = round(quantile(withPassphrase, 0.5));

const clear = result.clear!;
const enc = result.encrypted!;
console.log(
  JSON.stringify(
    {
      benchmark: 'e2e-relay',
      runs: RUNS,
      burst: BURST,
      pings: PINGS,
      baseline: clear,
      encrypted: enc,
      ratios: {
        throughput: round(enc.messagesPerSecond! / clear.messagesPerSecond!),
        latencyMedian: round(enc.latencyMedianMs! / clear.latencyMedianMs!),
        joinToFirstMessageAddedMs: round(enc.joinToFirstMessageMs! - clear.joinToFirstMessageMs!),
        joinToFirstMessageWithPassphraseAddedMs: round(
          enc.joinToFirstMessageWithPassphraseMs! - clear.joinToFirstMessageMs!,
        ),
      },
    },
    null,
    2,
  ),
);
await app.close();
