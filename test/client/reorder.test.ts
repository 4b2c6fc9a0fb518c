import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReorderBuffer } from '../../client/src/reorder.js';
import { Outbox } from '../../client/src/outbox.js';
import { joinChunks, splitMessage } from '../../client/src/chunker.js';
import type { DataEnvelope } from '../../client/src/envelope.js';
import { ClientError } from '../../client/src/errors.js';

/** The envelopes an outbox produces for a list of messages. */
function stream(messages: Array<string | Uint8Array>, chunkBytes: number, epoch = 1): DataEnvelope[] {
  const outbox = new Outbox('sender', epoch);
  messages.forEach((m, i) => outbox.enqueue(`m${i}`, splitMessage(m, chunkBytes)));
  return [...outbox.entries()].map((e) => e.envelope);
}

const message = fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 60 }));

describe('reorder buffer', () => {
  it('delivers exactly once, in order, under any duplication and reordering', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.func(fc.integer()),
        (messages, chunkBytes, duplicates, order) => {
          const envelopes = stream(messages, chunkBytes);
          const arrivals = [...envelopes, ...duplicates.map((d) => envelopes[d % envelopes.length]!)];
          const shuffled = arrivals
            .map((e, i) => ({ e, k: order(i) }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.e);
          const inbox = new ReorderBuffer();
          const delivered = shuffled.flatMap((e) => inbox.accept(e).messages);
          expect(delivered.map((d) => d.data)).toEqual(messages);
          expect(delivered.map((d) => d.id)).toEqual(messages.map((_, i) => `m${i}`));
          expect(inbox.cumulativeAck).toBe(envelopes.length);
          expect(inbox.heldCount).toBe(0);
        },
      ),
    );
  });

  it('holds an envelope after a gap until the gap fills', () => {
    const [e1, e2, e3] = stream(['a', 'b', 'c'], 100);
    const inbox = new ReorderBuffer();
    expect(inbox.accept(e3!).messages).toEqual([]);
    expect(inbox.accept(e2!).messages).toEqual([]);
    expect(inbox.cumulativeAck).toBe(0);
    expect(inbox.accept(e1!).messages.map((m) => m.data)).toEqual(['a', 'b', 'c']);
    expect(inbox.accept(e2!).duplicate).toBe(true);
  });

  it('starts afresh on a newer epoch, dropping what it held of the old one, and ignores the old one after', () => {
    const [, o2] = stream(['old1', 'old2'], 100, 1);
    const [n1, n2] = stream(['new1', 'new2'], 100, 2);
    const inbox = new ReorderBuffer();
    expect(inbox.accept(o2!).messages).toEqual([]);
    expect(inbox.accept(n2!).messages).toEqual([]);
    expect(inbox.epoch).toBe(2);
    expect(inbox.accept(n1!).messages.map((m) => m.data)).toEqual(['new1', 'new2']);
    const [o1] = stream(['old1'], 100, 1);
    expect(inbox.accept(o1!)).toEqual({ messages: [], duplicate: true });
    expect(inbox.cumulativeAck).toBe(2);
  });
});

describe('chunker', () => {
  it('splits and joins any message back to itself', () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 1, max: 64 }), (m, size) => {
        const split = splitMessage(m, size);
        expect(split.parts.every((p) => (typeof p === 'string' ? true : p.length <= size))).toBe(true);
        expect(joinChunks(split.parts, split.binary)).toEqual(m);
      }),
    );
  });

  it('keeps a short string a string and splits a long one as UTF-8 bytes', () => {
    expect(splitMessage('héllo', 100).parts).toEqual(['héllo']);
    const long = splitMessage('é'.repeat(10), 4);
    expect(long.parts.length).toBe(5);
    expect(joinChunks(long.parts, false)).toBe('é'.repeat(10));
  });
});

describe('outbox', () => {
  it('drops what a cumulative ack covers', () => {
    const outbox = new Outbox('s');
    for (let i = 0; i < 5; i++) outbox.enqueue(`m${i}`, splitMessage(`x${i}`, 10));
    outbox.ack(3, 1);
    expect([...outbox.entries()].map((e) => e.envelope.seq)).toEqual([4, 5]);
    expect(outbox.acked).toBe(3);
  });

  it('ignores an ack of another epoch and names the unacknowledged messages once each', () => {
    const outbox = new Outbox('s', 2);
    outbox.enqueue('a', splitMessage('x', 10));
    outbox.enqueue('b', splitMessage(new Uint8Array(25), 10));
    outbox.ack(4, 1);
    expect(outbox.size).toBe(4);
    outbox.ack(1, 2);
    expect(outbox.unacknowledgedIds()).toEqual(['b']);
  });

  it('throws OUTBOX_FULL at the envelope bound and queues nothing of that message', () => {
    const outbox = new Outbox('s', 1, { maxEnvelopes: 4, maxBytes: 1 << 20 });
    outbox.enqueue('a', splitMessage(new Uint8Array(30), 10));
    let err: unknown;
    try {
      outbox.enqueue('b', splitMessage(new Uint8Array(20), 10));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('OUTBOX_FULL');
    expect(outbox.size).toBe(3);
    outbox.ack(3, 1);
    outbox.enqueue('b', splitMessage(new Uint8Array(20), 10));
    expect(outbox.size).toBe(2);
  });

  it('throws OUTBOX_FULL at the byte bound', () => {
    const outbox = new Outbox('s', 1, { maxEnvelopes: 100, maxBytes: 100 });
    outbox.enqueue('a', splitMessage(new Uint8Array(80), 50));
    expect(() => outbox.enqueue('b', splitMessage(new Uint8Array(30), 50))).toThrow(/outbox/);
  });
});
