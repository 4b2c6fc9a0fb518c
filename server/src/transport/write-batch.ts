import type { Socket } from 'node:net';
import { CORK_FLUSH_BYTES } from '../config.js';

/**
 * Batches what is written to a TCP socket into one writev: the socket is corked at a batch's first
 * write and uncorked by setImmediate, after every I/O callback of the event loop's iteration (Node's
 * own advice for batching writes), or at once past CORK_FLUSH_BYTES, so large writes still stream
 * while the peer reads.
 *
 * A batch gathers what one iteration sends: a session's burst of MESSAGE frames
 * (transport/websocket.ts), or the writes of many sessions on one connection to RabbitMQ
 * (broker/stomp-tcp-connection.ts). Ending batches after the iteration, not after each socket
 * callback, also puts the iteration's writes to all sockets together: a peer that sleeps in its
 * own event loop is woken once for them, not once for each: with 1,000 signaling pairs, the load
 * generator woke about 10,000 times a second while batches ended by nextTick, and about 470 times
 * with these (bench, signaling 1,000 rooms).
 *
 * Many idle sessions hold one each, so it keeps no closure. The batches opened in one iteration end
 * together, by one setImmediate: an Immediate each cost about as much as the write it batched.
 */
export class WriteBatch {
  /** The batches open in this iteration, in the order they opened. */
  static #open: WriteBatch[] = [];

  #corked = false;
  /** Bytes written in the current batch. */
  #bytes = 0;
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Call before writing to the socket: starts a batch unless one is open. */
  open(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#bytes = 0;
    this.#socket.cork();
    if (WriteBatch.#open.push(this) === 1) setImmediate(WriteBatch.#endAll);
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

  static #endAll(): void {
    const batches = WriteBatch.#open;
    // A batch opened while these end (by a write callback) ends after the next iteration's I/O.
    WriteBatch.#open = [];
    for (const batch of batches) WriteBatch.#end(batch);
  }

  static #end(batch: WriteBatch): void {
    if (!batch.#corked) return;
    batch.#corked = false;
    batch.#socket.uncork();
  }
}
