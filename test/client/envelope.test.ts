import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeEnvelope,
  encodeForChannel,
  encodeForRelay,
  looksLikeEnvelope,
  type DataEnvelope,
  type Envelope,
} from '../../client/src/envelope.js';

const dataEnvelope = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 30 }),
    epoch: fc.integer({ min: 1, max: 2 ** 20 }),
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    count: fc.integer({ min: 1, max: 500 }),
    binary: fc.boolean(),
    ack: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9 })), { nil: undefined }),
    payload: fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 300 })),
  })
  .map(({ id, epoch, seq, count, binary, ack, payload }): DataEnvelope => ({
    kind: 'data',
    from: 'cid-1',
    id,
    epoch,
    seq,
    binary,
    payload,
    ...(count > 1 ? { chunk: { index: seq % count, count } } : {}),
    ...(ack !== undefined ? { ack: ack[0], ackEpoch: ack[1] } : {}),
  }));

const anyEnvelope: fc.Arbitrary<Envelope> = fc.oneof(
  dataEnvelope,
  fc
    .tuple(fc.nat(), fc.integer({ min: 1, max: 9 }))
    .map(([ack, epoch]): Envelope => ({ kind: 'ack', from: 'c', epoch, ack })),
  fc
    .tuple(fc.boolean(), fc.constantFrom(undefined, 'relay-only' as const, 'unsupported' as const))
    .map(([knowsYou, noWebrtc]): Envelope => ({
      kind: 'hello',
      from: 'c',
      knowsYou,
      ...(noWebrtc ? { noWebrtc } : {}),
    })),
  fc.constant<Envelope>({ kind: 'bye', from: 'c' }),
);

describe('envelope', () => {
  it('round-trips every envelope through the channel encoding', () => {
    fc.assert(
      fc.property(anyEnvelope, (env) => {
        expect(decodeEnvelope(encodeForChannel(env))).toEqual(env);
      }),
    );
  });

  it('round-trips every envelope through the relay encoding, which is always text', () => {
    fc.assert(
      fc.property(anyEnvelope, (env) => {
        const frame = encodeForRelay(env);
        expect(typeof frame).toBe('string');
        expect(decodeEnvelope(frame)).toEqual(env);
      }),
    );
  });

  it('reads a literal text frame', () => {
    expect(decodeEnvelope('SRTC1 {"k":"d","c":"x","i":"x-1","x":2,"s":1,"b":0}\nhi')).toEqual({
      kind: 'data',
      from: 'x',
      id: 'x-1',
      epoch: 2,
      seq: 1,
      binary: false,
      payload: 'hi',
    });
    expect(decodeEnvelope('SRTC1 {"k":"d","c":"x","i":"x-1","s":2,"b":1,"e":"b"}\nAQID')).toMatchObject({
      seq: 2,
      binary: true,
      payload: new Uint8Array([1, 2, 3]),
    });
  });

  it('reads envelopes without an epoch as epoch 1', () => {
    expect(decodeEnvelope('SRTC1 {"k":"d","c":"x","i":"x-1","s":1,"b":0,"a":4}\nhi')).toMatchObject({
      epoch: 1,
      ack: 4,
      ackEpoch: 1,
    });
    expect(decodeEnvelope('SRTC1 {"k":"a","c":"x","a":3}\n')).toEqual({ kind: 'ack', from: 'x', epoch: 1, ack: 3 });
    expect(encodeForRelay({ kind: 'ack', from: 'x', epoch: 2, ack: 3 })).toBe('SRTC1 {"k":"a","c":"x","x":2,"a":3}\n');
  });

  it('reads a literal hello from a relay-only peer', () => {
    expect(decodeEnvelope('SRTC1 {"k":"h","c":"x","r":0,"o":1}\n')).toEqual({
      kind: 'hello',
      from: 'x',
      knowsYou: false,
      noWebrtc: 'relay-only',
    });
    expect(encodeForRelay({ kind: 'hello', from: 'x', knowsYou: true, noWebrtc: 'unsupported' })).toBe(
      'SRTC1 {"k":"h","c":"x","r":1,"o":2}\n',
    );
  });

  it('treats data without the magic prefix as not an envelope', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array()), (raw) => {
        fc.pre(!looksLikeEnvelope(raw));
        expect(decodeEnvelope(raw)).toBeUndefined();
      }),
    );
  });

  it('rejects malformed headers', () => {
    for (const bad of [
      'SRTC1 {"k":"d","c":"x","s":0,"i":"a"}\n',
      'SRTC1 not json\n',
      'SRTC1 {"k":"z","c":"x"}\n',
      'SRTC1 {"k":"a","c":"x"}',
      'SRTC1 {"k":"d","c":"x","s":1,"i":"a","x":0}\n',
      'SRTC1 {"k":"a","c":"x","a":1,"x":-1}\n',
    ]) {
      expect(decodeEnvelope(bad)).toBeUndefined();
    }
  });
});
