/**
 * A MESSAGE the broker writes from pieces (server/src/broker/message-frame.ts: the subscription's
 * lines, the delivery's own lines, the user headers encoded once when frozen, the content-length
 * written digit by digit) is, octet for octet, the frame the general encoder writes from the same
 * headers, in the same order, for every version, acknowledgement mode and body length.
 */
import { describe, expect, it } from 'vitest';
import { MessageEncoding, MessageFrame } from '../../server/src/broker/message-frame.js';
import type { AckMode, Subscriber, Subscription } from '../../server/src/broker/types.js';
import { encodeFrame } from '../../shared/src/stomp/frame-encoder.js';
import { createHeaders, type StompHeaders, type StompVersion } from '../../shared/src/stomp/frame.js';

function subscription(id: string, ack: AckMode, clientDestination = '/user/queue/signal'): Subscription {
  return {
    subscriber: {} as Subscriber,
    id,
    destination: `/user/s1/queue/signal`,
    clientDestination,
    ack,
    unacked: new Map(),
    lines: undefined,
  };
}

function userHeaders(frozen: boolean): StompHeaders {
  const headers = createHeaders([
    ['from', 's1-peer'],
    ['room', 'a:room\\with\nescapes'],
    ['content-type', 'application/json'],
  ]);
  return frozen ? Object.freeze(headers) : headers;
}

/** What the general encoder writes for the frame's own headers, in their order (as latin1 text: one character per octet). */
function expected(frame: MessageFrame, version: StompVersion): string {
  return octets(encodeFrame({ command: 'MESSAGE', headers: frame.headers, body: frame.body }, version));
}

function octets(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

const BODY_LENGTHS = [0, 1, 9, 10, 99, 100, 1_000, 65_536];

describe('MESSAGE frames written from pieces', () => {
  for (const version of ['1.2', '1.1'] as const) {
    for (const frozen of [true, false]) {
      it(`equal the general encoder's, STOMP ${version}, ${frozen ? 'frozen' : 'fresh'} user headers, every ack mode`, () => {
        for (const length of BODY_LENGTHS) {
          const body = Buffer.alloc(length, 0x61);
          for (const [ack, redelivered] of [
            ['auto', false],
            ['auto', true],
            ['client', false],
            ['client-individual', true],
          ] as const) {
            const encoding = new MessageEncoding(
              { destination: '/user/s1/queue/signal', headers: userHeaders(frozen), body },
              'f00d-1a',
            );
            const id = ack === 'auto' && !redelivered ? encoding.messageId : 'f00d-2b';
            const frame = new MessageFrame(subscription('sub-0', ack), encoding, id, redelivered);
            expect(octets(frame.encode(version))).toBe(expected(frame, version));
          }
        }
      });
    }
  }

  it('fans one message out to subscriptions with other lines, and gives equal lines the very same bytes', () => {
    const body = Buffer.from('{"type":"candidate"}');
    const encoding = new MessageEncoding({ destination: '/topic/t', headers: userHeaders(false), body }, 'f00d-3c');
    const [first, same, other] = [
      subscription('sub-0', 'auto', '/topic/t'),
      subscription('sub-0', 'auto', '/topic/t'),
      subscription('sub-1', 'auto', '/topic/t'),
    ];
    const frames = [first, same, other].map((s) => new MessageFrame(s, encoding, encoding.messageId, false));
    const bytes = frames.map((f) => f.encode('1.2'));
    expect(bytes[1]).toBe(bytes[0]);
    for (const [i, frame] of frames.entries()) expect(octets(bytes[i]!)).toBe(expected(frame, '1.2'));
  });

  it('writes the frozen headers of each message, not those of an earlier one', () => {
    const first = Object.freeze(createHeaders([['room', 'one']]));
    const second = Object.freeze(createHeaders([['room', 'two']]));
    for (const headers of [first, second, first]) {
      const encoding = new MessageEncoding(
        { destination: '/user/s1/queue/relay', headers, body: Buffer.from('x') },
        'f00d-4d',
      );
      const frame = new MessageFrame(subscription('r', 'auto'), encoding, encoding.messageId, false);
      expect(octets(frame.encode('1.2'))).toContain(`room:${headers.room}\n`);
      expect(octets(frame.encode('1.2'))).toBe(expected(frame, '1.2'));
    }
  });
});
