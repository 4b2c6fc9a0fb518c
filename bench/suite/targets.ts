/**
 * The servers a scenario measures and one load generator for all of them: a client per target that
 * speaks its wire (literal STOMP frames over `ws` for stomprtc and RabbitMQ Web-STOMP, the
 * server-process protocol for plain `ws`, socket.io-client for Socket.IO). Every delivery hands the
 * scenario the send time that the body carries at BODY_STAMP_AT, so latency is measured in this one
 * process with one clock.
 */
import { execFile, fork, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { io as socketIoClient, type Socket } from 'socket.io-client';
import { callgrindArgs, countedInstructions, setInstrumentation } from './callgrind.js';

export type TargetName = 'stomprtc' | 'ws' | 'socket.io' | 'web-stomp' | 'stomprtc-relay' | 'stomp-floor';

/** What the bench runner hands down: the private RabbitMQ node of this run, when there is one. */
interface RabbitEnv {
  stompUrl: string;
  webStompUrl: string;
  nodeName: string;
}

function rabbitFromEnv(): RabbitEnv | undefined {
  const { BENCH_RABBIT_STOMP_URL, BENCH_RABBIT_WEB_STOMP_URL, BENCH_RABBIT_NODE } = process.env;
  if (!BENCH_RABBIT_STOMP_URL || !BENCH_RABBIT_WEB_STOMP_URL || !BENCH_RABBIT_NODE) return undefined;
  return { stompUrl: BENCH_RABBIT_STOMP_URL, webStompUrl: BENCH_RABBIT_WEB_STOMP_URL, nodeName: BENCH_RABBIT_NODE };
}

/** Bodies are JSON objects (so /app/signal takes them) whose first field is the send time. */
const BODY_PREFIX = '{"t":"';
const BODY_STAMP_AT = BODY_PREFIX.length;
const STAMP_LENGTH = 16;

export function stampedBody(size: number): () => string {
  const padding = 'x'.repeat(Math.max(0, size - BODY_STAMP_AT - STAMP_LENGTH - 9));
  return () => `${BODY_PREFIX}${performance.now().toFixed(3).padStart(STAMP_LENGTH, '0')}","p":"${padding}"}`;
}

function stampIn(data: Buffer, bodyStart: number): number {
  return Number(data.toString('latin1', bodyStart + BODY_STAMP_AT, bodyStart + BODY_STAMP_AT + STAMP_LENGTH));
}

export type Delivery = (sentAt: number) => void;

/** One connection of the load generator. `direct` addresses another client of the same target. */
export interface Client {
  readonly id: string;
  subscribe(topic: string): Promise<void>;
  /** Makes `direct` possible: stomprtc's signals and relay messages go between members of a room. */
  join(room: string): Promise<void>;
  publish(topic: string, body: string): void;
  direct(to: Client, room: string, body: string): void;
  /** Sets the handler of topic deliveries, in place of any earlier one (as onDirect does). */
  onTopic(handler: Delivery): void;
  onDirect(handler: Delivery): void;
  /** True until the server closes the connection. */
  open(): boolean;
  /** Sends a heart-beat where the wire has one the client must send. */
  beat(): void;
  close(): void;
}

/** A running server (or two, for the relay) and how to reach it. */
export interface Server {
  readonly target: TargetName;
  urls: string[];
  /** Bytes of server memory after a full collection: RSS, and heap+external where known. */
  memory(): Promise<{ rss: number; heap?: number }>;
  /** CPU time (user + system, every thread) its processes have used so far, in ms: RabbitMQ's node
   * counts for web-stomp and the relay, which put it to work. */
  cpuMs(): Promise<number>;
  /** The part of cpuMs() that is RabbitMQ's node, for the relay: the rest is the two stomprtc nodes. */
  brokerCpuMs?(): Promise<number>;
  /**
   * Instructions the server executes in user space while `work` runs, counted by callgrind; only
   * for a server started with `{ callgrind: true }`.
   */
  instructionsWhile(work: () => Promise<void>): Promise<number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  serverEnv?: Record<string, string>;
  /** Runs the server (ws, stomprtc or socket.io) under callgrind, for instructionsWhile(). */
  callgrind?: boolean;
  /**
   * With callgrind: keeps its dumps here (`out.<n>`, one per instructionsWhile()), and V8's map of
   * the JIT code the server ran (`perf.map`), so that bench/profile.ts can name every function.
   */
  profileDir?: string;
}

function notCounted(target: TargetName): () => Promise<number> {
  return () =>
    Promise.reject(new Error(`${target}: instructions are counted only for a server started under callgrind`));
}

function forkServer(
  kind: string,
  env: Record<string, string>,
  callgrindOut?: string,
  perfMap = false,
): Promise<{ child: ChildProcess; port: number }> {
  const script = new URL('./server-process.ts', import.meta.url).pathname;
  const nodeArgs = [
    '--import',
    'tsx',
    '--expose-gc',
    // /tmp/perf-<pid>.map: where V8 put each JIT-compiled function, which callgrind knows only by address.
    ...(perfMap ? ['--perf-basic-prof'] : []),
    // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops.
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
  ];
  const options = { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as StdioOptions };
  const child = callgrindOut
    ? // Valgrind runs node in its own process, so the IPC channel and the pid are the server's.
      spawn('valgrind', [...callgrindArgs(callgrindOut), process.execPath, ...nodeArgs, script, kind], options)
    : fork(script, [kind], { ...options, execArgv: nodeArgs });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { ready: number }) => resolve({ child, port: message.ready }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function memoryOf(child: ChildProcess): Promise<{ rss: number; heap: number }> {
  return new Promise((resolve) => {
    child.once('message', ({ memory }: { memory: NodeJS.MemoryUsage }) =>
      resolve({ rss: memory.rss, heap: memory.heapUsed + memory.external }),
    );
    child.send('memory');
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // Asked first, so that a profile is written; killed when it does not go at once.
    child.send('stop');
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  });
}

const run = promisify(execFile);

async function rabbitPid(nodeName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', '-n', nodeName, 'eval', 'os:getpid().']);
  return Number(stdout.trim().replace(/"/g, ''));
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux this runs on). */
const USER_HZ = 100;

/** CPU ms used so far by these processes: utime + stime of /proc/<pid>/stat, all threads. */
async function cpuMsOf(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / USER_HZ;
}

export async function startServer(
  target: TargetName,
  { serverEnv = {}, callgrind = false, profileDir }: StartOptions = {},
): Promise<Server> {
  if (callgrind && (target === 'web-stomp' || target === 'stomprtc-relay'))
    throw new Error(`${target}: RabbitMQ's instructions are not counted (callgrind runs node servers only)`);
  if (target === 'web-stomp') {
    const rabbit = rabbitFromEnv();
    if (!rabbit) throw new Error('web-stomp needs the private RabbitMQ node that bench/run.ts starts');
    // Asked once: each rabbitmqctl call boots an Erlang VM of its own beside the run.
    const pid = await rabbitPid(rabbit.nodeName);
    return {
      target,
      urls: [rabbit.webStompUrl],
      memory: async () => ({ rss: await rssOf(pid) }),
      cpuMs: () => cpuMsOf([pid]),
      instructionsWhile: notCounted(target),
      stop: async () => {},
    };
  }
  if (target === 'stomprtc-relay') {
    const rabbit = rabbitFromEnv();
    if (!rabbit) throw new Error('stomprtc-relay needs the private RabbitMQ node that bench/run.ts starts');
    const env = { ...serverEnv, BENCH_SERVER_BROKER_RELAY_URL: rabbit.stompUrl };
    const nodes = await Promise.all([forkServer('stomprtc', env), forkServer('stomprtc', env)]);
    const brokerPid = await rabbitPid(rabbit.nodeName);
    const pids = [...nodes.map(({ child }) => child.pid!), brokerPid];
    return {
      target,
      urls: nodes.map(({ port }) => `ws://127.0.0.1:${port}/ws`),
      memory: async () => memoryOf(nodes[0].child),
      cpuMs: () => cpuMsOf(pids),
      brokerCpuMs: () => cpuMsOf([brokerPid]),
      instructionsWhile: notCounted(target),
      stop: async () => void (await Promise.all(nodes.map(({ child }) => stopChild(child)))),
    };
  }
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const callgrindDir = callgrind ? (profileDir ?? mkdtempSync(join(tmpdir(), 'stomprtc-callgrind-'))) : undefined;
  const callgrindOut = callgrindDir && join(callgrindDir, 'out');
  const { child, port } = await forkServer(target, serverEnv, callgrindOut, callgrind && profileDir !== undefined);
  let dumps = 0;
  const path = target === 'stomprtc' ? '/ws' : '';
  return {
    target,
    urls: [`ws://127.0.0.1:${port}${path}`],
    memory: () => memoryOf(child),
    cpuMs: () => cpuMsOf([child.pid!]),
    instructionsWhile: callgrindOut
      ? async (work) => {
          await setInstrumentation(child.pid!, true);
          await work();
          await setInstrumentation(child.pid!, false);
          return countedInstructions(child.pid!, callgrindOut, ++dumps);
        }
      : notCounted(target),
    stop: async () => {
      await stopChild(child);
      if (callgrindDir && profileDir) {
        copyFileSync(`/tmp/perf-${child.pid}.map`, join(profileDir, 'perf.map'));
        rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
      } else if (callgrindDir) rmSync(callgrindDir, { recursive: true, force: true });
    },
  };
}

function openSocket(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const NUL = '\0';
/** RabbitMQ names no peer: Web-STOMP sessions are numbered here. */
let webStompSessions = 0;

/** A STOMP client of its own making: frames written by hand, MESSAGE routed by its subscription id. */
class StompClient implements Client {
  id = '';
  readonly #ws: WebSocket;
  readonly #directDestination: (to: Client) => string;
  readonly #receipts = new Map<string, () => void>();
  #onTopic: Delivery = () => {};
  #onDirect: Delivery = () => {};
  #connected: (id: string) => void = () => {};
  #next = 0;
  #open = true;

  constructor(ws: WebSocket, directDestination: (to: Client) => string) {
    this.#ws = ws;
    this.#directDestination = directDestination;
    ws.on('close', () => (this.#open = false));
    ws.on('message', (data: Buffer) => this.#receive(data));
  }

  static async connect(
    url: string,
    heartBeatMs: number,
    directDestination: (to: Client) => string,
    rabbit = false,
  ): Promise<StompClient> {
    const ws = await openSocket(url, ['v12.stomp']);
    const client = new StompClient(ws, directDestination);
    const login = rabbit ? 'login:guest\npasscode:guest\n' : '';
    const connected = new Promise<string>((resolve) => (client.#connected = resolve));
    ws.send(`CONNECT\naccept-version:1.2\nhost:/\n${login}heart-beat:${heartBeatMs},${heartBeatMs}\n\n${NUL}`);
    client.id = await connected;
    return client;
  }

  #receive(data: Buffer): void {
    if (data[0] === 0x4d /* MESSAGE */) {
      const at = data.indexOf('\nsubscription:');
      const kind = data[at + 14];
      if (kind === 0x74 /* t */) this.#onTopic(stampIn(data, data.indexOf('\n\n') + 2));
      else if (kind === 0x64 /* d */) this.#onDirect(stampIn(data, data.indexOf('\n\n') + 2));
      else if (kind === 0x72 /* r */) this.#receipts.get('room')?.();
    } else if (data[0] === 0x52 /* RECEIPT */) {
      const id = /receipt-id:([^\n]*)/.exec(data.toString('latin1'))?.[1] ?? '';
      this.#receipts.get(id)?.();
    } else if (data[0] === 0x43 /* CONNECTED */) {
      const text = data.toString('latin1');
      this.#connected(/\nuser-name:([^\n]*)/.exec(text)?.[1] ?? `w${process.pid}-${++webStompSessions}`);
    } else if (data[0] === 0x45 /* ERROR */) {
      // The session is over: a scenario counts it as dropped, or stalls and says so.
      console.error(`server ERROR: ${data.toString().split('\n')[1] ?? ''}`);
      this.#open = false;
    }
  }

  #subscribe(destination: string, kind: string): Promise<void> {
    const receipt = `r${++this.#next}`;
    return new Promise<void>((resolve) => {
      this.#receipts.set(receipt, resolve);
      this.#ws.send(`SUBSCRIBE\nid:${kind}${this.#next}\ndestination:${destination}\nreceipt:${receipt}\n\n${NUL}`);
    });
  }

  subscribe(topic: string): Promise<void> {
    return this.#subscribe(`/topic/${topic}`, 't');
  }

  async join(room: string): Promise<void> {
    // RabbitMQ has no per-session destination: a queue named after the session is its equivalent.
    if (!this.#directDestination(this).startsWith('/app/')) return this.#subscribe(this.#directDestination(this), 'd');
    const queue = this.#directDestination(this) === '/app/signal' ? 'signal' : 'relay';
    await this.#subscribe(`/user/queue/${queue}`, 'd');
    // The welcome, the first MESSAGE on the room subscription, says the session is a member.
    const welcomed = new Promise<void>((resolve) => this.#receipts.set('room', resolve));
    this.#ws.send(`SUBSCRIBE\nid:r\ndestination:/topic/room/${room}\n\n${NUL}`);
    await welcomed;
    this.#receipts.delete('room');
  }

  publish(topic: string, body: string): void {
    this.#ws.send(`SEND\ndestination:/topic/${topic}\ncontent-type:application/json\n\n${body}${NUL}`);
  }

  direct(to: Client, room: string, body: string): void {
    const destination = this.#directDestination(to);
    const addressing = destination.startsWith('/app/') ? `room:${room}\nto:${to.id}\n` : '';
    this.#ws.send(`SEND\ndestination:${destination}\n${addressing}content-type:application/json\n\n${body}${NUL}`);
  }

  onTopic(handler: Delivery): void {
    this.#onTopic = handler;
  }

  onDirect(handler: Delivery): void {
    this.#onDirect = handler;
  }

  open(): boolean {
    return this.#open;
  }

  beat(): void {
    if (this.#open) this.#ws.send('\n');
  }

  close(): void {
    this.#ws.terminate();
  }
}

/** The plain `ws` server's protocol (server-process.ts). */
class PlainWsClient implements Client {
  id = '';
  readonly #ws: WebSocket;
  #onTopic: Delivery = () => {};
  #onDirect: Delivery = () => {};
  #open = true;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('close', () => (this.#open = false));
  }

  static async connect(url: string): Promise<PlainWsClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new PlainWsClient(ws);
    // The greeting can come in the same read as the upgrade: the listener is there before `open`.
    const greeted = new Promise<string>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('message', (data: Buffer) => {
        resolve(data.toString().slice(3));
        ws.on('message', (message: Buffer) => {
          const bodyStart = message.indexOf('\n\n') + 2;
          if (message[0] === 0x50 /* P */) client.#onTopic(stampIn(message, bodyStart));
          else client.#onDirect(stampIn(message, bodyStart));
        });
      });
    });
    client.id = await greeted;
    return client;
  }

  async subscribe(topic: string): Promise<void> {
    this.#ws.send(`S${topic}`);
    // The server handles a socket's messages in order: a direct message to itself comes back after the subscription.
    await new Promise<void>((resolve) => {
      const previous = this.#onDirect;
      this.#onDirect = () => {
        this.#onDirect = previous;
        resolve();
      };
      this.#ws.send(`D${this.id}\n\n${BODY_PREFIX}0000000000000000"}`);
    });
  }

  async join(): Promise<void> {}

  publish(topic: string, body: string): void {
    this.#ws.send(`P${topic}\n\n${body}`);
  }

  direct(to: Client, _room: string, body: string): void {
    this.#ws.send(`D${to.id}\n\n${body}`);
  }

  onTopic(handler: Delivery): void {
    this.#onTopic = handler;
  }

  onDirect(handler: Delivery): void {
    this.#onDirect = handler;
  }

  open(): boolean {
    return this.#open;
  }

  beat(): void {}

  close(): void {
    this.#ws.terminate();
  }
}

class SocketIoClient implements Client {
  readonly #socket: Socket;
  #open = true;
  #onTopic: Delivery = () => {};
  #onDirect: Delivery = () => {};

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('disconnect', () => (this.#open = false));
    const stamp = (body: string) => Number(body.slice(BODY_STAMP_AT, BODY_STAMP_AT + STAMP_LENGTH));
    socket.on('m', (body: string) => this.#onTopic(stamp(body)));
    socket.on('d', (_from: string, body: string) => this.#onDirect(stamp(body)));
  }

  get id(): string {
    return this.#socket.id ?? '';
  }

  static async connect(url: string): Promise<SocketIoClient> {
    const socket = socketIoClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return new SocketIoClient(socket);
  }

  async subscribe(topic: string): Promise<void> {
    this.#socket.emit('sub', topic);
    // Events of one socket are handled in order: the direct message to itself comes back after the join.
    await new Promise<void>((resolve) => {
      this.#socket.once('d', () => resolve());
      this.#socket.emit('direct', this.id, `${BODY_PREFIX}0000000000000000"}`);
    });
  }

  async join(): Promise<void> {}

  publish(topic: string, body: string): void {
    this.#socket.emit('pub', topic, body);
  }

  direct(to: Client, _room: string, body: string): void {
    this.#socket.emit('direct', to.id, body);
  }

  onTopic(handler: Delivery): void {
    this.#onTopic = handler;
  }

  onDirect(handler: Delivery): void {
    this.#onDirect = handler;
  }

  open(): boolean {
    return this.#open;
  }

  beat(): void {}

  close(): void {
    this.#socket.disconnect();
  }
}

export interface ConnectOptions {
  /** Which of the server's URLs (the relay target has two nodes). */
  node?: number;
  /** stomprtc's direct path: `/app/signal` (default) or `/app/relay`. */
  direct?: '/app/signal' | '/app/relay';
  heartBeatMs?: number;
}

export function connectClient(server: Server, options: ConnectOptions = {}): Promise<Client> {
  const url = server.urls[(options.node ?? 0) % server.urls.length]!;
  const heartBeatMs = options.heartBeatMs ?? 0;
  switch (server.target) {
    case 'ws':
      return PlainWsClient.connect(url);
    case 'socket.io':
      return SocketIoClient.connect(url);
    case 'web-stomp':
      return StompClient.connect(url, heartBeatMs, (to) => `/queue/bench-${to.id}`, true);
    default:
      return StompClient.connect(url, heartBeatMs, () => options.direct ?? '/app/signal');
  }
}
