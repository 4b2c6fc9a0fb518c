/**
 * Time from join to open data channel on loopback, for rooms of 2 and 6 peers (median of
 * several runs), against a baseline measured in the same run: two bare RTCPeerConnections of
 * @roamhq/wrtc in one process exchanging their signals directly, from createDataChannel to open.
 *
 * "Join to channel" is measured at the later joiner of each link: from its session.join() call to
 * the link-state event that reports `p2p`. A room of n is joined one peer after another, so the
 * last joiner opens n-1 links at once. Each room size is measured twice: with every peer a process
 * of its own (bench/p2p-peer.ts), as the members of a real room each run on their own machine, and
 * with all peers in this one process, where the wrtc calls of all of them (several milliseconds
 * each, synchronous on the event loop) queue behind each other.
 *
 * "Join to first message" (relay-first): a second member sends the moment its join() resolves, long
 * before any data channel exists; timed from that join() call to the delivery at the first member,
 * so it includes the end-to-end key agreement the relay path waits for. Each run is the median of
 * three such joins, each in a room of its own.
 */
// Before anything makes a peer connection: @roamhq/wrtc can crash a process that closed some (see there).
import '../test/helpers/wrtc-finalizers.js';
import wrtc from '@roamhq/wrtc';
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Session } from '../client/src/index.js';
import { compiledClient, compiledServer } from './compiled.js';
import type { PeerCommand, PeerReply } from './p2p-peer.js';

const [{ buildApp, loadConfig }, { connect }] = await Promise.all([compiledServer(), compiledClient()]);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function bareChannelMs(): Promise<number> {
  const { RTCPeerConnection } = wrtc as unknown as { RTCPeerConnection: typeof globalThis.RTCPeerConnection };
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  // Candidates still trickling in after the channel opened may land on a closed connection.
  a.onicecandidate = (e) => {
    if (e.candidate) b.addIceCandidate(e.candidate).catch(() => {});
  };
  b.onicecandidate = (e) => {
    if (e.candidate) a.addIceCandidate(e.candidate).catch(() => {});
  };
  const start = performance.now();
  const channel = a.createDataChannel('bench');
  const opened = new Promise<void>((resolve) => (channel.onopen = () => resolve()));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await opened;
  const ms = performance.now() - start;
  a.close();
  b.close();
  return ms;
}

async function roomRun(url: string, size: number, run: number | 'first'): Promise<number[]> {
  const sessions: Session[] = [];
  const linkTimes: number[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const session = await connect(url, { wrtc });
      sessions.push(session);
      const joinedAt = performance.now();
      // Links start after the welcome, which join() resolves on; ICE takes far longer than that await.
      const room = await session.join(`bench-${size}-${run}`, { name: `peer-${i}` });
      await new Promise<void>((resolve) => {
        let open = 0;
        if (i === 0) return resolve();
        room.on('link-state', ({ state }) => {
          if (state !== 'p2p') return;
          linkTimes.push(performance.now() - joinedAt);
          if (++open === i) resolve();
        });
      });
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  return linkTimes;
}

/** A bench/p2p-peer.ts process, one command at a time. */
class PeerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  constructor() {
    this.#child = fork(new URL('./p2p-peer.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Joins and resolves with each link's join → p2p time; rejects if the process dies. */
  join(url: string, room: string, name: string, links: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`bench peer ${name} exited (${signal ?? `code ${code}`}) while joining`));
      this.#child.once('exit', onExit);
      this.#child.once('message', (reply: PeerReply) => {
        this.#child.off('exit', onExit);
        resolve(reply.ev === 'joined' ? reply.linkMs : []);
      });
      this.#child.send({ cmd: 'join', url, room, name, links } satisfies PeerCommand);
    });
  }

  /** Leaves; resolves once it has, or once the process died doing so. */
  leave(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.once('message', () => resolve());
      void this.#exited.then(resolve);
      this.#child.send({ cmd: 'leave' } satisfies PeerCommand);
    });
  }

  stop(): Promise<void> {
    if (this.#child.connected) this.#child.disconnect();
    return this.#exited;
  }
}

/**
 * @roamhq/wrtc can crash a process whose peers' connections close while it writes (upstream
 * WonderInventions/node-webrtc#35 and kin). A peer that dies while it leaves has reported its
 * times already: it is replaced, and counted here so the output says so. This process can die the
 * same way when its own in-process peers leave; bench/run.ts then runs it again (rerunOnNativeCrash).
 */
let peersLostOnLeave = 0;

/** As roomRun, with each peer a process of its own. */
async function roomRunInProcesses(url: string, peers: PeerProcess[], run: number | 'first'): Promise<number[]> {
  const linkTimes: number[] = [];
  const room = `bench-processes-${peers.length}-${run}`;
  for (const [i, peer] of peers.entries()) linkTimes.push(...(await peer.join(url, room, `peer-${i}`, i)));
  await Promise.all(peers.map((peer) => peer.leave()));
  for (const [i, peer] of peers.entries()) {
    if (peer.running) continue;
    peersLostOnLeave++;
    peers[i] = new PeerProcess();
  }
  return linkTimes;
}

/** One join → first message, in a room of its own. */
async function firstMessage(url: string, roomId: string): Promise<number> {
  const first = await connect(url, { wrtc });
  const second = await connect(url, { wrtc });
  try {
    const room = await first.join(roomId, { name: 'first' });
    const delivered = new Promise<number>((resolve) => room.once('message', () => resolve(performance.now())));
    const joinedAt = performance.now();
    (await second.join(roomId, { name: 'second' })).send('hello');
    return (await delivered) - joinedAt;
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
}

const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'error' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`;

const baseline: number[] = [];
for (let i = 0; i < RUNS; i++) baseline.push(await bareChannelMs());
const baselineMs = median(baseline);

const rooms: Record<string, unknown> = {};
function record(label: string, perRun: number[]): void {
  const ms = median(perRun);
  rooms[label] = {
    joinToChannelMsMedian: Math.round(ms),
    runs: perRun.map(Math.round),
    ratioToBareChannel: Number((ms / baselineMs).toFixed(2)),
  };
}
// The first join of new peer processes pays their one-time costs (module set-up, JIT, @roamhq/wrtc's
// first peer connections): it is kept out of the runs, as first runs are everywhere here, and shown
// on a row of its own, since a user's first join pays them too.
const firstJoins: Record<string, number> = {};
for (const size of [2, 6]) {
  const peers = Array.from({ length: size }, () => new PeerProcess());
  try {
    firstJoins[size] = median(await roomRunInProcesses(url, peers, 'first'));
    const perRun: number[] = [];
    for (let run = 0; run < RUNS; run++) perRun.push(median(await roomRunInProcesses(url, peers, run)));
    record(`${size} peers, a process each`, perRun);
  } finally {
    await Promise.all(peers.map((peer) => peer.stop()));
  }
}
for (const size of [2, 6]) {
  await roomRun(url, size, 'first');
  const perRun: number[] = [];
  for (let run = 0; run < RUNS; run++) perRun.push(median(await roomRun(url, size, run)));
  record(`${size} peers in one process`, perRun);
}
for (const [size, ms] of Object.entries(firstJoins)) record(`${size} peers, a process each, their first join`, [ms]);
// The first run of a process pays its one-time costs (module set-up, JIT): untimed, as everywhere here.
await firstMessage(url, 'bench-first-warm-up');
const firstMessageRuns: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) samples.push(await firstMessage(url, `bench-first-${run}-${i}`));
  firstMessageRuns.push(median(samples));
}
await app.close();
if (peersLostOnLeave > 0)
  console.error(`bench/join-to-channel: @roamhq/wrtc crashed ${peersLostOnLeave} peer(s) as they left`);
const joinToFirstMessage = {
  msMedian: Number(median(firstMessageRuns).toFixed(1)),
  runs: firstMessageRuns.map((ms) => Number(ms.toFixed(1))),
};
console.log(
  JSON.stringify(
    {
      bench: 'join-to-channel',
      runs: RUNS,
      bareChannelMsMedian: Math.round(baselineMs),
      rooms,
      joinToFirstMessage,
      peersLostOnLeave,
    },
    null,
    2,
  ),
);
process.exit(0);
