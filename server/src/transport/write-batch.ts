import type { Socket } from 'node:net';
import { CORK_FLUSH_BYTES } from '../config.js';

/**
 * Batches what is written to a TCP socket into one writev: the socket is corked at a batch's first
 * write and uncorked when the batch ends (Node's own advice for batching writes), or at once past
 * CORK_FLUSH_BYTES, so large writes still stream while the peer reads.
 *
 * - `tick`: a batch ends on the next tick, so what one turn sends goes together: a session's burst
 *   of MESSAGE frames (transport/websocket.ts).
 * - `immediate`: a batch ends by setImmediate, after every I/O callback of the event loop's
 *   iteration: a connection carrying the writes of many sessions, each from its own socket callback
 *   (the relay's connections to RabbitMQ, broker/stomp-tcp-connection.ts).
 *
 * Many idle sessions hold one each, so it keeps no closure: a batch ends through a static function.
 */
export class WriteBatch {
  #corked = false;
  /** Bytes written in the current batch. */
  #bytes = 0;
  readonly #socket: Socket;
  readonly #endsBy: 'tick' | 'immediate';

  constructor(socket: Socket, endsBy: 'tick' | 'immediate') {
    this.#socket = socket;
    this.#endsBy = endsBy;
  }

  /** Call before writing to the socket: starts a batch unless one is open. */
  open(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#bytes = 0;
    this.#socket.cork();
    if (this.#endsBy === 'tick') process.nextTick(WriteBatch.#end, this);
    else setImmediate(WriteBatch.#end, this);
  }

  /** Call after writing `bytes` to the socket: a batch past CORK_FLUSH_BYTES goes at once. */
  wrote(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes >= CORK_FLUSH_BYTES) this.flush();
  }

  /** Ends the current batch now (before a close, so what it holds goes first). */
  flush(): void {
    WriteBatch.#end(this);
  }

  static #end(batch: WriteBatch): void {
    if (!batch.#corked) return;
    batch.#corked = false;
    batch.#socket.uncork();
  }
}
