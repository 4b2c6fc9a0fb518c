import { connect, type Socket } from 'node:net';
import { createHeaders, frame, type StompFrame } from '../../../shared/src/stomp/frame.js';
import { FrameDecoder } from '../../../shared/src/stomp/frame-decoder.js';
import { encodeFrame, HEARTBEAT_EOL } from '../../../shared/src/stomp/frame-encoder.js';
import type { DecoderLimits } from '../../../shared/src/stomp/limits.js';
import { pooledBytes } from '../body-memory.js';
import { HEARTBEAT_MAX_MS } from '../config.js';
import { Heartbeat, negotiateHeartbeat, parseHeartbeatHeader } from '../stomp/heartbeat.js';
import { WriteBatch } from '../transport/write-batch.js';

export interface StompTcpOptions {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly passcode: string;
  /** The CONNECT `host` header; RabbitMQ reads it as the virtual host. */
  readonly vhost: string;
  /** Heart-beat asked for in both directions, in ms (0 = none). */
  readonly heartbeatMs: number;
  /** Time allowed for TCP connect plus CONNECTED, and for a RECEIPT, in ms. */
  readonly timeoutMs: number;
  readonly limits: DecoderLimits;
}

/**
 * RabbitMQ's STOMP adapter answers a delivery that was in flight when its UNSUBSCRIBE was handled
 * with this ERROR (rabbit_stomp_processor send_delivery) and keeps the connection open: the
 * subscription is gone on both sides and the message was for nobody, so it is not a failure.
 */
const IN_FLIGHT_AFTER_UNSUBSCRIBE = 'Subscription not found';

export type ConnectionState = 'connecting' | 'connected' | 'closed';

/**
 * A STOMP 1.2 client connection over TCP, on our own codec: CONNECT, frames out, MESSAGEs routed
 * by `subscription`, RECEIPTs as promises, heart-beats. Deliberately no reconnect: the relay decides
 * what a lost connection means. Any ERROR frame ends the connection ("the server MUST then close
 * the connection", §ERROR), and `closed` fires exactly once with the reason.
 *
 * What is sent within one iteration of the event loop goes out in one write (WriteBatch): the
 * system connection carries the SENDs of every session of the node, each from its own socket
 * callback, so a batch that ended with each callback would rarely hold two. One segment of many
 * frames costs RabbitMQ one read, not one each.
 */
export class StompTcpConnection {
  state: ConnectionState = 'connecting';
  /** Called once when the connection ends; `error` is undefined after our own disconnect(). */
  onClose: (error: Error | undefined) => void = () => {};

  readonly #subscriptions = new Map<string, (message: StompFrame) => void>();
  readonly #receipts = new Map<string, { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #nextReceipt = 0;
  #heartbeat: Heartbeat | undefined;

  readonly #socket: Socket;
  readonly #batch: WriteBatch;
  readonly #options: StompTcpOptions;

  private constructor(socket: Socket, options: StompTcpOptions) {
    this.#socket = socket;
    this.#batch = new WriteBatch(socket);
    this.#options = options;
  }

  /** Opens the TCP connection and completes CONNECT; rejects on refusal, ERROR or timeout. */
  static open(options: StompTcpOptions): Promise<StompTcpConnection> {
    const socket = connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const connection = new StompTcpConnection(socket, options);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          connection.#fail(
            new Error(`no CONNECTED from ${options.host}:${options.port} within ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
      connection.onClose = (error) => {
        clearTimeout(timer);
        reject(error ?? new Error('closed before CONNECTED'));
      };
      connection.#onConnected = (connected) => {
        clearTimeout(timer);
        connection.onClose = () => {};
        connection.#connected(connected);
        resolve(connection);
      };
      socket.once('connect', () => {
        connection.#write(
          frame('CONNECT', {
            'accept-version': '1.2',
            host: options.vhost,
            login: options.login,
            passcode: options.passcode,
            'heart-beat': `${options.heartbeatMs},${options.heartbeatMs}`,
          }),
        );
      });
      connection.#listen();
    });
  }

  /** Sends a frame; throws if the connection is no longer open. */
  send(outbound: StompFrame): void {
    if (this.state !== 'connected') throw new Error(`cannot send ${outbound.command}: the connection is ${this.state}`);
    this.#write(outbound);
  }

  /** Sends a frame with a `receipt` header and resolves when the RECEIPT arrives. */
  request(outbound: StompFrame): Promise<void> {
    const id = `rcpt-${this.#nextReceipt++}`;
    const headers = createHeaders(Object.entries(outbound.headers));
    headers.receipt = id;
    // The timer keeps the command's name, not the frame: a body may be a view of a whole WebSocket
    // message (server/src/body-memory.ts), which would stay in memory until the receipt.
    const { command } = outbound;
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#receipts.delete(id);
        reject(new Error(`no RECEIPT for ${command} within ${this.#options.timeoutMs} ms`));
      }, this.#options.timeoutMs);
      this.#receipts.set(id, { resolve, reject, timer });
    });
    this.send({ command, headers, body: outbound.body });
    return arrived;
  }

  /** Routes MESSAGE frames carrying `subscription:<id>` to `handler`. */
  subscribe(id: string, handler: (message: StompFrame) => void): void {
    this.#subscriptions.set(id, handler);
  }

  unsubscribe(id: string): void {
    this.#subscriptions.delete(id);
  }

  /** DISCONNECT with a receipt (so the broker has handled every earlier frame), then close. */
  async disconnect(): Promise<void> {
    if (this.state !== 'connected') return this.destroy();
    try {
      await this.request(frame('DISCONNECT'));
    } catch {
      // Closing anyway; the broker treats a dropped connection like a DISCONNECT.
    }
    this.#finish(undefined);
  }

  /** Closes at once; the broker requeues what this connection held unacknowledged. */
  destroy(): void {
    this.#finish(undefined);
  }

  #onConnected: (connected: StompFrame) => void = () => {};

  #listen(): void {
    const decoder = new FrameDecoder(
      { version: '1.2', limits: this.#options.limits, allocate: pooledBytes },
      (f) => this.#onFrame(f),
      () => {},
    );
    this.#socket.on('data', (chunk: Buffer) => {
      this.#heartbeat?.noteInbound();
      try {
        decoder.push(chunk);
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () =>
      this.#fail(new Error(`connection to ${this.#options.host}:${this.#options.port} closed`)),
    );
  }

  #onFrame(received: StompFrame): void {
    switch (received.command) {
      case 'CONNECTED':
        if (this.state === 'connecting') this.#onConnected(received);
        return;
      case 'MESSAGE': {
        const id = received.headers.subscription;
        if (id !== undefined) this.#subscriptions.get(id)?.(received);
        return;
      }
      case 'RECEIPT': {
        const id = received.headers['receipt-id'] ?? '';
        const waiting = this.#receipts.get(id);
        if (!waiting) return;
        this.#receipts.delete(id);
        clearTimeout(waiting.timer);
        waiting.resolve();
        return;
      }
      case 'ERROR':
        if (received.headers.message === IN_FLIGHT_AFTER_UNSUBSCRIBE) return;
        this.#fail(
          new Error(
            `ERROR from the broker: ${received.headers.message ?? ''} ${Buffer.from(received.body).toString('utf8').trim()}`.trim(),
          ),
        );
        return;
      default:
        this.#fail(new Error(`unexpected ${received.command} frame from the broker`));
    }
  }

  #connected(connected: StompFrame): void {
    this.state = 'connected';
    const offered = parseHeartbeatHeader(connected.headers['heart-beat'], HEARTBEAT_MAX_MS) ?? [0, 0];
    // The server's offer read as a client's: what it can send, what it wants.
    this.#heartbeat = new Heartbeat(negotiateHeartbeat(offered, this.#options.heartbeatMs), this.#options.heartbeatMs, {
      sendHeartbeat: () => this.#writeBytes(HEARTBEAT_EOL),
      heartbeatTimedOut: (silentMs) =>
        this.#fail(new Error(`no data or heart-beat from the broker for ${silentMs} ms`)),
    });
  }

  #write(outbound: StompFrame): void {
    this.#writeBytes(encodeFrame(outbound, '1.2', pooledBytes));
  }

  #writeBytes(bytes: Uint8Array): void {
    if (this.#socket.destroyed) return;
    this.#batch.open();
    this.#socket.write(bytes);
    this.#batch.wrote(bytes.length);
    this.#heartbeat?.noteOutbound();
  }

  #fail(error: Error): void {
    this.#finish(error);
  }

  #finish(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.#heartbeat?.stop();
    this.#socket.destroy();
    for (const waiting of this.#receipts.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error ?? new Error('connection closed'));
    }
    this.#receipts.clear();
    this.#subscriptions.clear();
    this.onClose(error);
  }
}
