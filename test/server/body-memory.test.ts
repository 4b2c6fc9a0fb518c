/**
 * Bodies are decoded into Node's Buffer pool (server/src/body-memory.ts); whatever keeps one past
 * its turn keeps a copy of its own size, so a 3-byte body waiting in a queue does not hold an
 * 8 KiB slab.
 */
import { describe, expect, it } from 'vitest';
import { ownedBody, pooledBytes } from '../../server/src/body-memory.js';
import { SimpleBroker } from '../../server/src/broker/simple-broker.js';
import type { Subscriber } from '../../server/src/broker/types.js';
import { Transactions } from '../../server/src/stomp/transactions.js';
import { createHeaders, textDecoder, type StompFrame } from '../../shared/src/stomp/frame.js';

/** Three bytes in a slice of the pool's slab, as the session's decoder makes them. */
function pooledBody(text: string): Uint8Array {
  const body = pooledBytes(text.length);
  body.set(Buffer.from(text));
  return body;
}

function ownsItsMemory(body: Uint8Array | undefined): boolean {
  return body !== undefined && body.byteLength === body.buffer.byteLength;
}

function recorder(sessionId: string): Subscriber & { frames: StompFrame[] } {
  const frames: StompFrame[] = [];
  return { sessionId, frames, deliver: (f) => frames.push(f) };
}

const limits = {
  maxUnackedPerSubscription: 10,
  maxQueueDepth: 10,
  maxQueuedBytes: 1 << 20,
  maxQueuedBytesPerSession: 1 << 20,
};

describe('body memory', () => {
  it('gives a slice of a shared slab for a small body, and ownedBody a copy of just its bytes', () => {
    const pooled = pooledBody('abc');
    expect(ownsItsMemory(pooled)).toBe(false);
    const owned = ownedBody(pooled);
    expect(ownsItsMemory(owned)).toBe(true);
    expect(textDecoder.decode(owned)).toBe('abc');
    // A body that owns its memory already is kept as it is.
    expect(ownedBody(owned)).toBe(owned);
  });

  it('parks a queued message with a body of its own', () => {
    const broker = new SimpleBroker(limits);
    broker.publish({ destination: '/queue/work', headers: createHeaders(), body: pooledBody('abc'), sender: 's' });
    const consumer = recorder('c');
    broker.subscribe(consumer, { id: '1', destination: '/queue/work', clientDestination: '/queue/work', ack: 'auto' });
    expect(textDecoder.decode(consumer.frames[0]!.body)).toBe('abc');
    expect(ownsItsMemory(consumer.frames[0]?.body)).toBe(true);
  });

  it('keeps an unacknowledged delivery with a body of its own, and redelivers that', () => {
    const broker = new SimpleBroker(limits);
    const [a, b] = [recorder('a'), recorder('b')];
    const request = { destination: '/queue/work', clientDestination: '/queue/work', ack: 'client' } as const;
    broker.subscribe(a, { id: '1', ...request });
    broker.subscribe(b, { id: '1', ...request });
    broker.publish({ destination: '/queue/work', headers: createHeaders(), body: pooledBody('abc') });
    expect(a.frames).toHaveLength(1);
    expect(broker.nack('a', a.frames[0]!.headers.ack!)).toBe(true);
    expect(textDecoder.decode(b.frames[0]!.body)).toBe('abc');
    expect(ownsItsMemory(b.frames[0]?.body)).toBe(true);
  });

  it('holds the frames of an open transaction with bodies of their own', () => {
    const transactions = new Transactions(1, 10);
    transactions.begin('tx');
    transactions.add('tx', { command: 'SEND', headers: createHeaders(), body: pooledBody('abc') });
    const [held] = transactions.commit('tx');
    expect(textDecoder.decode(held!.body)).toBe('abc');
    expect(ownsItsMemory(held?.body)).toBe(true);
  });
});
