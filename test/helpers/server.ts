/**
 * Test helpers shared by the server, contract, client and end-to-end suites: a real server on a
 * free port, @stomp/stompjs clients over WebSocket or SockJS, and a raw-wire client that sends
 * literal frames and decodes what comes back with our own FrameDecoder.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import SockJS from 'sockjs-client';
import { Client, type IFrame, type IMessage, type StompHeaders } from '@stomp/stompjs';
import { buildApp, type AppHooks } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config.js';
import { FrameDecoder } from '../../shared/src/stomp/frame-decoder.js';
import type { StompFrame, StompVersion } from '../../shared/src/stomp/frame.js';

/** How long a helper waits for something that should come before it gives up (a liveness bound, not a timing assertion). */
const WAIT_MS = 5_000;

export interface TestServer {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly wsUrl: string;
  readonly sockjsUrl: string;
  readonly httpUrl: string;
  close(): Promise<void>;
}

/** port: 0 picks a free one; a given port lets a test restart a server where its clients expect it. */
export async function startServer(
  env: Record<string, string> = {},
  hooks: AppHooks = {},
  port = 0,
): Promise<TestServer> {
  const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'warn', ...env }), hooks);
  await app.listen({ port, host: '127.0.0.1' });
  const bound = (app.server.address() as AddressInfo).port;
  const httpUrl = `http://127.0.0.1:${bound}`;
  return {
    app,
    port: bound,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${bound}/ws`,
    sockjsUrl: `${httpUrl}/sockjs`,
    close: () => app.close(),
  };
}

/** A queue of things that arrive over time; `next()` takes them in order, waiting when none is there yet. */
export class Inbox<T> {
  readonly all: T[] = [];
  #taken = 0;
  #waiter: (() => void) | undefined;

  readonly #what: string;

  constructor(what = 'item') {
    this.#what = what;
  }

  push(item: T): void {
    this.all.push(item);
    this.#waiter?.();
  }

  /** Items not yet taken by next(). */
  get pending(): T[] {
    return this.all.slice(this.#taken);
  }

  async next(timeoutMs = WAIT_MS): Promise<T> {
    if (this.#taken < this.all.length) return this.all[this.#taken++]!;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no ${this.#what} arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve();
      };
    });
    return this.all[this.#taken++]!;
  }

  async take(count: number): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next());
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// @stomp/stompjs clients

export type Transport = 'ws' | 'sockjs';

export interface StompClientOptions {
  readonly transport?: Transport;
  readonly connectHeaders?: StompHeaders;
  /** Heart-beats the client offers, in ms; 0 (the default here) turns them off. */
  readonly heartbeatMs?: number;
  /** Subscribes to /user/queue/errors before anything else, into `errors`. @default true */
  readonly errors?: boolean;
  /** Subprotocols the WebSocket offers. */
  readonly protocols?: string[];
}

export interface TestClient {
  readonly client: Client;
  readonly connected: IFrame;
  /** The server-assigned peer id (CONNECTED user-name). */
  readonly peerId: string;
  /** Non-fatal errors: MESSAGEs on /user/queue/errors. */
  readonly errors: Inbox<IMessage>;
  /** ERROR frames (fatal). */
  readonly errorFrames: Inbox<IFrame>;
  /** Every receipt-id that came back in a RECEIPT. */
  readonly receipts: string[];
  /** Resolves when the transport closes. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  subscribe(destination: string, headers?: StompHeaders): Subscription;
  send(destination: string, body?: string, headers?: StompHeaders): void;
  /** Sends `frame` with a receipt header and resolves when its RECEIPT arrives. */
  receipt(send: (headers: StompHeaders) => void): Promise<IFrame>;
  /** A round trip through the server: every frame sent before it has been handled when it resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Subscription {
  readonly id: string;
  readonly messages: Inbox<IMessage>;
  next(): Promise<IMessage>;
  /** The next body, parsed as JSON. */
  json<T = any>(): Promise<T>;
  unsubscribe(headers?: StompHeaders): void;
}

let receiptSeq = 0;

function webSocketFactory(url: string, transport: Transport, protocols?: string[]): () => any {
  if (transport === 'sockjs') {
    // Only the HTTP transports, so the non-WebSocket path is really exercised.
    return () => new SockJS(url, null, { transports: ['xhr-streaming', 'xhr-polling'] });
  }
  return () => new WebSocket(url, protocols ?? ['v12.stomp', 'v11.stomp', 'v10.stomp']);
}

/** A connected @stomp/stompjs client (no reconnect), with inboxes for what the server sends. */
export async function stompClient(server: TestServer | string, options: StompClientOptions = {}): Promise<TestClient> {
  const transport = options.transport ?? 'ws';
  const url = typeof server === 'string' ? server : transport === 'sockjs' ? server.sockjsUrl : server.wsUrl;
  const errors = new Inbox<IMessage>('message on /user/queue/errors');
  const errorFrames = new Inbox<IFrame>('ERROR frame');
  const receipts: string[] = [];
  let isClosed = false;
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const heartbeat = options.heartbeatMs ?? 0;

  const client = new Client({
    webSocketFactory: webSocketFactory(url, transport, options.protocols),
    connectHeaders: { host: 'stomprtc', ...options.connectHeaders },
    reconnectDelay: 0,
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    onStompError: (frame) => errorFrames.push(frame),
    onUnhandledReceipt: (frame) => receipts.push(frame.headers['receipt-id']!),
    onWebSocketClose: () => {
      isClosed = true;
      onClosed();
    },
  });
  const connected = await new Promise<IFrame>((resolve, reject) => {
    client.onConnect = resolve;
    client.onWebSocketError = (event) => reject(new Error(`WebSocket error: ${String(event?.message ?? event)}`));
    void closed.then(() => reject(new Error('closed before CONNECTED')));
    client.activate();
  });

  let subscriptionSeq = 0;
  const subscribe = (destination: string, headers: StompHeaders = {}): Subscription => {
    const messages = new Inbox<IMessage>(`MESSAGE from ${destination}`);
    const id = headers.id ?? `sub-${subscriptionSeq++}`;
    const handle = client.subscribe(destination, (m) => messages.push(m), { ...headers, id });
    return {
      id,
      messages,
      next: () => messages.next(),
      json: async () => JSON.parse((await messages.next()).body),
      unsubscribe: (h) => handle.unsubscribe(h),
    };
  };
  const receipt = (send: (headers: StompHeaders) => void): Promise<IFrame> => {
    const id = `r-${++receiptSeq}`;
    const arrived = new Promise<IFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no RECEIPT ${id} within ${WAIT_MS} ms`)), WAIT_MS);
      client.watchForReceipt(id, (frame) => {
        clearTimeout(timer);
        receipts.push(id);
        resolve(frame);
      });
    });
    send({ receipt: id });
    return arrived;
  };
  if (options.errors !== false) {
    client.subscribe('/user/queue/errors', (m) => errors.push(m), { id: 'errors' });
  }

  const test: TestClient = {
    client,
    connected,
    peerId: connected.headers['user-name']!,
    errors,
    errorFrames,
    receipts,
    closed,
    isClosed: () => isClosed,
    subscribe,
    send: (destination, body = '', headers = {}) => client.publish({ destination, body, headers }),
    receipt,
    sync: async () => {
      await receipt((headers) => client.publish({ destination: '/topic/stomprtc-test-sync', headers }));
    },
    close: async () => {
      if (!isClosed) await client.deactivate();
    },
  };
  return test;
}

// ---------------------------------------------------------------------------------------------
// Raw wire

export interface RawStomp {
  readonly socket: WebSocket;
  /** The subprotocol the server chose. */
  readonly protocol: string;
  readonly frames: Inbox<StompFrame>;
  /** Heart-beat EOLs received. */
  heartbeats: number;
  send(data: string | Uint8Array): void;
  nextFrame(): Promise<StompFrame>;
  /** Resolves with the close code once the socket is closed. */
  waitForClose(): Promise<number>;
  /** Sends CONNECT and returns the CONNECTED frame. */
  connect(headers?: Record<string, string>): Promise<StompFrame>;
  close(): void;
}

export interface RawStompOptions {
  readonly protocols?: string[];
  /** Escaping rules to decode with (the version the session speaks). @default '1.2' */
  readonly version?: StompVersion;
}

/** A WebSocket that speaks literal STOMP strings; received frames are decoded by FrameDecoder. */
export async function rawStomp(server: TestServer | string, options: RawStompOptions = {}): Promise<RawStomp> {
  const url = typeof server === 'string' ? server : server.wsUrl;
  const socket = new WebSocket(url, options.protocols ?? ['v12.stomp']);
  const frames = new Inbox<StompFrame>('frame');
  const raw: RawStomp = {
    socket,
    protocol: '',
    frames,
    heartbeats: 0,
    send: (data) => socket.send(typeof data === 'string' ? Buffer.from(data) : data),
    nextFrame: () => frames.next(),
    waitForClose: () => closed,
    connect: async (headers = { 'accept-version': '1.2', host: 'stomprtc' }) => {
      raw.send(
        `CONNECT\n${Object.entries(headers)
          .map(([k, v]) => `${k}:${v}\n`)
          .join('')}\n\0`,
      );
      return frames.next();
    },
    close: () => socket.close(),
  };
  const decoder = new FrameDecoder(
    {
      version: options.version ?? '1.2',
      limits: { maxFrameBytes: 64 << 20, maxHeaders: 1000, maxHeaderLineBytes: 1 << 20 },
    },
    (frame) => frames.push(frame),
    () => raw.heartbeats++,
  );
  socket.on('message', (data: Buffer) => decoder.push(data));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  (raw as { protocol: string }).protocol = socket.protocol;
  return raw;
}

/** A STOMP frame as literal wire text: `wire('SEND', { destination: '/topic/a' }, 'hi')`. */
export function wire(command: string, headers: Record<string, string> = {}, body = ''): string {
  return `${command}\n${Object.entries(headers)
    .map(([k, v]) => `${k}:${v}\n`)
    .join('')}\n${body}\0`;
}

export function text(frame: StompFrame): string {
  return Buffer.from(frame.body).toString('utf8');
}

/** Waits until `condition()` holds; fails after `timeoutMs` naming `what` (a liveness bound, not a timing assertion). */
export async function until(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
