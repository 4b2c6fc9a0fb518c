/**
 * Sender side of one stream toward one receiver: assigns sequence numbers, keeps every envelope
 * until the receiver's cumulative ack covers it, and remembers which path each was last written
 * to so the link can resend exactly what a path change may have lost.
 */
import type { DataEnvelope, ClientId } from './envelope.js';
import type { SplitMessage } from './chunker.js';
import { ClientError } from './errors.js';
import { OUTBOX_MAX_BYTES, OUTBOX_MAX_ENVELOPES } from './limits.js';

export interface OutboxEntry {
  readonly envelope: DataEnvelope;
  readonly bytes: number;
  /** Id of the path this envelope was last written to (undefined: never written). */
  sentOn?: string;
  sentAt: number;
}

export interface OutboxBounds {
  readonly maxEnvelopes: number;
  readonly maxBytes: number;
}

export class Outbox {
  #nextSeq = 1;
  #bytes = 0;
  readonly #entries = new Map<number, OutboxEntry>();
  readonly #from: ClientId;
  readonly #bounds: OutboxBounds;

  /**
   * epoch: the incarnation of this sequence space (envelope.ts); a conversation that starts again
   * after the previous one was given up uses a higher one.
   */
  constructor(
    from: ClientId,
    readonly epoch = 1,
    bounds: OutboxBounds = { maxEnvelopes: OUTBOX_MAX_ENVELOPES, maxBytes: OUTBOX_MAX_BYTES },
  ) {
    this.#from = from;
    this.#bounds = bounds;
  }

  get size(): number {
    return this.#entries.size;
  }
  get bytes(): number {
    return this.#bytes;
  }
  /** Highest sequence number the receiver has acknowledged. */
  get acked(): number {
    return this.#entries.size ? this.#entries.keys().next().value! - 1 : this.#nextSeq - 1;
  }

  /** Throws OUTBOX_FULL (queueing nothing) when the message would cross a bound. */
  assertRoom(message: SplitMessage): void {
    if (
      this.#entries.size + message.parts.length > this.#bounds.maxEnvelopes ||
      (this.#entries.size > 0 && this.#bytes + message.bytes > this.#bounds.maxBytes)
    ) {
      throw new ClientError(
        'OUTBOX_FULL',
        `outbox holds ${this.#entries.size} envelopes / ${this.#bytes} bytes unacknowledged; limits are ${this.#bounds.maxEnvelopes} / ${this.#bounds.maxBytes}`,
      );
    }
  }

  /** Queues one message (all its chunks) and returns the sequence number of its first envelope. */
  enqueue(id: string, message: SplitMessage): number {
    this.assertRoom(message);
    const first = this.#nextSeq;
    const count = message.parts.length;
    message.parts.forEach((payload, index) => {
      const seq = this.#nextSeq++;
      const envelope: DataEnvelope = {
        kind: 'data',
        from: this.#from,
        id,
        epoch: this.epoch,
        seq,
        binary: message.binary,
        payload,
        ...(message.json ? { json: true } : {}),
        ...(message.channel !== undefined ? { channel: message.channel } : {}),
        ...(count > 1 ? { chunk: { index, count } } : {}),
      };
      const bytes = typeof payload === 'string' ? payload.length : payload.length;
      this.#entries.set(seq, { envelope, bytes, sentAt: 0 });
      this.#bytes += bytes;
    });
    return first;
  }

  /** Drops everything up to and including the cumulative ack; an ack of another epoch is stale. */
  ack(upTo: number, epoch: number): void {
    if (epoch !== this.epoch) return;
    for (const [seq, entry] of this.#entries) {
      if (seq > upTo) break;
      this.#entries.delete(seq);
      this.#bytes -= entry.bytes;
    }
  }

  /** Ids of the messages with an unacknowledged envelope, in sending order. */
  unacknowledgedIds(): string[] {
    return [...new Set([...this.#entries.values()].map((e) => e.envelope.id))];
  }

  /** Unacknowledged entries in sequence order. */
  entries(): IterableIterator<OutboxEntry> {
    return this.#entries.values();
  }
}
