import { StompRtcError } from '../../../shared/src/errors.js';
import { frame, textDecoder, type StompFrame } from '../../../shared/src/stomp/frame.js';
import type { PresenceEntry, PresenceLog, PresenceLogHandlers } from '../signaling/presence-log.js';
import type { RelayLog } from './relay-broker.js';
import { StompTcpConnection, type StompTcpOptions } from './stomp-tcp-connection.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

export interface PresenceStreamOptions {
  readonly connection: StompTcpOptions;
  /** The stream queue's name on RabbitMQ: `<CLUSTER_NAME>.presence`. */
  readonly queue: string;
  readonly log: RelayLog;
}

/**
 * Entries the stream keeps: a node reads from where it joins (or resumes), never from the start,
 * so an hour is plenty and the stream stays small. Segments are small so retention can act.
 */
const STREAM_ARGUMENTS = { 'x-max-age': '1h', 'x-stream-max-segment-size-bytes': String(8 << 20) } as const;
/** Deliveries RabbitMQ may have in flight to a node before it acknowledges (streams need client ack). */
const PREFETCH = 1000;

/**
 * The presence log on a RabbitMQ stream (a durable, append-only queue every consumer reads in
 * full, in one order): nodes SEND entries to `/amq/queue/<name>` and each reads them all from
 * `x-stream-offset: next`. On a reconnect the node resumes after the last offset it applied, so it
 * misses nothing the others appended meanwhile. One STOMP connection of its own, reconnecting
 * with back-off.
 */
export class PresenceStream implements PresenceLog {
  readonly shared = true;
  readonly #options: PresenceStreamOptions;
  readonly #backoff = new ReconnectBackoff();
  #connection: StompTcpConnection | undefined;
  #handlers: PresenceLogHandlers | undefined;
  #lastOffset: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #nextId = 0;

  constructor(options: PresenceStreamOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#connection?.state === 'connected';
  }

  async start(handlers: PresenceLogHandlers): Promise<void> {
    this.#handlers = handlers;
    await this.#connect();
  }

  append(entry: PresenceEntry): void {
    if (!this.connected)
      throw new StompRtcError(
        'NOT_FORWARDED',
        'this node cannot reach RabbitMQ at the moment; nothing was done, retry later',
      );
    this.#connection!.send(
      frame(
        'SEND',
        { destination: `/amq/queue/${this.#options.queue}`, 'content-type': 'application/json' },
        JSON.stringify(entry),
      ),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.disconnect();
  }

  async #connect(): Promise<void> {
    const { connection: options, queue, log } = this.#options;
    let connection: StompTcpConnection | undefined;
    try {
      connection = await StompTcpConnection.open(options);
      if (this.#closed) return connection.destroy();
      const id = `presence-${this.#nextId++}`;
      connection.subscribe(id, (message) => this.#received(connection!, message));
      await connection.request(
        frame('SUBSCRIBE', {
          id,
          destination: `/queue/${queue}`,
          ack: 'client',
          'prefetch-count': String(PREFETCH),
          durable: 'true',
          'auto-delete': 'false',
          'x-queue-type': 'stream',
          ...STREAM_ARGUMENTS,
          'x-stream-offset': this.#lastOffset === undefined ? 'next' : `offset=${this.#lastOffset + 1}`,
        }),
      );
    } catch (err) {
      connection?.destroy();
      log.error({ err }, 'presence stream: cannot reach RabbitMQ; retrying');
      return this.#retry();
    }
    this.#connection = connection;
    this.#backoff.reset();
    connection.onClose = (error) => {
      if (this.#connection !== connection) return;
      this.#connection = undefined;
      log.error({ err: error }, 'presence stream: lost RabbitMQ; reconnecting');
      this.#handlers?.disconnected();
      this.#retry();
    };
    log.info({ queue }, 'presence stream: reading');
    this.#handlers?.connected();
  }

  #retry(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#connect(), this.#backoff.nextDelayMs());
    this.#timer.unref();
  }

  #received(connection: StompTcpConnection, message: StompFrame): void {
    const offset = Number(message.headers['x-stream-offset']);
    // A resumed subscription may start at the chunk holding the offset asked for: skip what was applied.
    const fresh = this.#lastOffset === undefined || !(offset <= this.#lastOffset);
    if (Number.isFinite(offset) && fresh) this.#lastOffset = offset;
    const ack = message.headers.ack;
    if (ack !== undefined && connection.state === 'connected') connection.send(frame('ACK', { id: ack }));
    if (!fresh) return;
    let entry: PresenceEntry;
    try {
      entry = JSON.parse(textDecoder.decode(message.body)) as PresenceEntry;
    } catch {
      return this.#options.log.warn({ offset }, 'presence stream: an entry that is not JSON; skipped');
    }
    this.#handlers?.entry(entry);
  }
}
