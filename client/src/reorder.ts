/**
 * Receiver side of one sender's stream: drops duplicates by sequence number, holds envelopes that
 * arrive ahead of a gap, releases them in order, and reassembles chunked messages.
 */
import type { DataEnvelope } from './envelope.js';
import { joinChunks } from './chunker.js';
import { REORDER_MAX_HELD } from './limits.js';

export interface ReassembledMessage {
  readonly id: string;
  /** Sequence number of the message's first envelope. */
  readonly seq: number;
  readonly data: string | Uint8Array;
  /** data is JSON text to parse (a JSON value was sent). */
  readonly json: boolean;
  readonly channel?: string;
}

export interface AcceptResult {
  readonly messages: ReassembledMessage[];
  /** The envelope was seen before (or could not be held); the sender should get an ack anyway. */
  readonly duplicate: boolean;
}

export class ReorderBuffer {
  /** Epoch of the sender's sequence space being received; 0 before the first envelope. */
  #epoch = 0;
  #expected = 1;
  readonly #held = new Map<number, DataEnvelope>();
  #partial: DataEnvelope[] = [];

  readonly #maxHeld: number;

  constructor(maxHeld = REORDER_MAX_HELD) {
    this.#maxHeld = maxHeld;
  }

  /** Highest sequence number below which everything has arrived: the cumulative ack. */
  get cumulativeAck(): number {
    return this.#expected - 1;
  }

  get heldCount(): number {
    return this.#held.size;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /**
   * An envelope of an older epoch is stale (the sender gave that sequence space up and reported
   * what we had not acknowledged); one of a newer epoch starts a fresh sequence space, and what was
   * held of the old one is dropped, as the sender reported it undelivered.
   */
  accept(env: DataEnvelope): AcceptResult {
    if (env.epoch < this.#epoch) return { messages: [], duplicate: true };
    if (env.epoch > this.#epoch) {
      this.#epoch = env.epoch;
      this.#expected = 1;
      this.#held.clear();
      this.#partial = [];
    }
    if (env.seq < this.#expected || this.#held.has(env.seq)) return { messages: [], duplicate: true };
    if (env.seq !== this.#expected && this.#held.size >= this.#maxHeld) return { messages: [], duplicate: true };
    this.#held.set(env.seq, env);
    const messages: ReassembledMessage[] = [];
    for (let next = this.#held.get(this.#expected); next; next = this.#held.get(this.#expected)) {
      this.#held.delete(this.#expected);
      this.#expected++;
      const message = this.#assemble(next);
      if (message) messages.push(message);
    }
    return { messages, duplicate: false };
  }

  #assemble(env: DataEnvelope): ReassembledMessage | undefined {
    if (!env.chunk || env.chunk.count === 1) {
      this.#partial = [];
      return { ...metaOf(env), id: env.id, seq: env.seq, data: joinChunks([env.payload], env.binary) };
    }
    const first = this.#partial[0];
    // A sender emits a message's chunks under consecutive sequence numbers, so in-order release
    // yields them back to back; anything else is a broken stream and the partial is dropped.
    if (env.chunk.index === 0 || !first || first.id !== env.id || this.#partial.length !== env.chunk.index) {
      this.#partial = env.chunk.index === 0 ? [env] : [];
      return undefined;
    }
    this.#partial.push(env);
    if (this.#partial.length < env.chunk.count) return undefined;
    const parts = this.#partial;
    this.#partial = [];
    const data = joinChunks(
      parts.map((p) => p.payload),
      env.binary,
    );
    return { ...metaOf(env), id: env.id, seq: parts[0]!.seq, data };
  }
}

function metaOf(env: DataEnvelope): { json: boolean; channel?: string } {
  return { json: env.json === true, ...(env.channel !== undefined ? { channel: env.channel } : {}) };
}
