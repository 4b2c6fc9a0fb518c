/**
 * Rooms across nodes: signaling round trips (/app/signal there and back) and relay messages per
 * second (/app/relay) between two members of one room, with both members on one node against the
 * same with the members on two nodes, in the same run on one RabbitMQ. The in-memory broker (one
 * node, no RabbitMQ) is printed alongside for scale. RabbitMQ is a private node of this run
 * (test/helpers/private-rabbitmq.ts), so other work on the machine's node neither slows it nor is
 * slowed by it.
 */
import { WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { compiledServer } from './compiled.js';
import { startPrivateRabbitMq } from '../test/helpers/private-rabbitmq.js';

const { buildApp, loadConfig } = await compiledServer();

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 500);
const RELAY_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const WINDOW = 50;
const BODY = 'x'.repeat(100);

/** A member speaking literal STOMP: enough of a client to time the server and nothing else. */
class Peer {
  id = '';
  readonly #handlers = new Map<string, (headers: Record<string, string>, body: string) => void>();
  #buffer = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.#buffer += data.toString();
      let end: number;
      while ((end = this.#buffer.indexOf('\0')) >= 0) {
        const raw = this.#buffer.slice(0, end).replace(/^\n+/, '');
        this.#buffer = this.#buffer.slice(end + 1);
        const [head = ''] = raw.split('\n\n');
        const [command = '', ...lines] = head.split('\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
        const key = command === 'MESSAGE' ? (headers.subscription ?? '') : command;
        this.#handlers.get(key)?.(headers, raw.slice(head.length + 2));
      }
    });
  }

  static async open(url: string): Promise<Peer> {
    const ws = new WebSocket(url, ['v12.stomp']);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const peer = new Peer(ws);
    const connected = peer.next('CONNECTED');
    ws.send('CONNECT\naccept-version:1.2\nhost:bench\nheart-beat:0,0\n\n\0');
    peer.id = (await connected)['user-name']!;
    return peer;
  }

  on(key: string, handler: (headers: Record<string, string>, body: string) => void): void {
    this.#handlers.set(key, handler);
  }

  next(key: string): Promise<Record<string, string>> {
    return new Promise((resolve) => this.on(key, resolve));
  }

  async subscribe(id: string, destination: string): Promise<void> {
    const receipt = this.next('RECEIPT');
    this.ws.send(`SUBSCRIBE\nid:${id}\ndestination:${destination}\nreceipt:${id}\n\n\0`);
    await receipt;
  }

  send(destination: string, headers: Record<string, string>, body: string): void {
    this.ws.send(
      `SEND\ndestination:${destination}\n${Object.entries(headers)
        .map(([k, v]) => `${k}:${v}\n`)
        .join('')}\n${body}\0`,
    );
  }
}

async function node(env: Record<string, string>): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(
    loadConfig({
      PORT: '0',
      LOG_LEVEL: 'error',
      HEARTBEAT_MS: '0',
      SEND_RATE_PER_S: '1000000',
      SEND_BURST: '1000000',
      ...env,
    }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  while ((await fetch(`${url}/healthz`)).status !== 200) await new Promise((r) => setTimeout(r, 50));
  return { app, url: `${url.replace('http', 'ws')}/ws` };
}

interface Figures {
  signalRoundTripMedianMs: number;
  signalRoundTripP95Ms: number;
  relayMessagesPerSecond: number;
}

/** Two members of a fresh room, `a` on urlA and `b` on urlB. */
async function measure(urlA: string, urlB: string, room: string): Promise<Figures> {
  const [a, b] = [await Peer.open(urlA), await Peer.open(urlB)];
  for (const p of [a, b]) {
    // A refusal would otherwise leave a round trip waiting for ever.
    p.on('errors', (_headers, body) => {
      throw new Error(`the server refused a frame of ${p.id}: ${body}`);
    });
    await p.subscribe('errors', '/user/queue/errors');
    await p.subscribe('signal', '/user/queue/signal');
    await p.subscribe('relay', '/user/queue/relay');
  }
  const join = (p: Peer) => p.ws.send(`SUBSCRIBE\nid:room\ndestination:/topic/room/${room}\n\n\0`);
  const aWelcomed = a.next('room');
  join(a);
  await aWelcomed;
  // b's welcome says b's node has the join; a's node may apply it a little later, and until then it
  // refuses a's signals to b (UNKNOWN_PEER). a's peer-joined says a's node has it too.
  const bKnownToA = a.next('room');
  const bWelcomed = b.next('room');
  join(b);
  await Promise.all([bWelcomed, bKnownToA]);
  // b answers every signal; a times the round trip.
  b.on('signal', () => b.send('/app/signal', { room, to: a.id, 'content-type': 'application/json' }, '{"answer":1}'));
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const back = a.next('signal');
    const start = performance.now();
    a.send('/app/signal', { room, to: b.id, 'content-type': 'application/json' }, '{"offer":1}');
    await back;
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  let received = 0;
  b.on('relay', () => received++);
  const start = performance.now();
  for (let sent = 0; sent < RELAY_MESSAGES; sent += WINDOW) {
    const upTo = Math.min(sent + WINDOW, RELAY_MESSAGES);
    for (let i = sent; i < upTo; i++) a.send('/app/relay', { room, to: b.id }, BODY);
    while (received < upTo) await new Promise((r) => setImmediate(r));
  }
  const ms = performance.now() - start;
  for (const p of [a, b]) p.ws.close();
  return {
    signalRoundTripMedianMs: Number(times[Math.floor(times.length / 2)]!.toFixed(3)),
    signalRoundTripP95Ms: Number(times[Math.floor(times.length * 0.95)]!.toFixed(3)),
    relayMessagesPerSecond: Math.round((RELAY_MESSAGES / ms) * 1000),
  };
}

const rabbit = await startPrivateRabbitMq();
try {
  const memory = await node({});
  const inMemory = await measure(memory.url, memory.url, 'bench-memory');
  await memory.app.close();
  const relay = { BROKER_RELAY_URL: rabbit.stompUrl, CLUSTER_NAME: 'bench' };
  const [n1, n2] = [await node(relay), await node(relay)];
  const oneNode = await measure(n1.url, n1.url, 'bench-one-node');
  const twoNodes = await measure(n1.url, n2.url, 'bench-two-nodes');
  await Promise.all([n1.app.close(), n2.app.close()]);
  console.log(
    JSON.stringify(
      {
        bench: 'cluster-rooms',
        roundTrips: ROUND_TRIPS,
        relayMessages: RELAY_MESSAGES,
        inMemoryOneNode: inMemory,
        relayOneNode: oneNode,
        relayTwoNodes: twoNodes,
        ratioTwoNodesToOne: {
          signalRoundTripMedian: Number(
            (twoNodes.signalRoundTripMedianMs / oneNode.signalRoundTripMedianMs).toFixed(3),
          ),
          relayMessagesPerSecond: Number((twoNodes.relayMessagesPerSecond / oneNode.relayMessagesPerSecond).toFixed(3)),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await rabbit.stop();
}
