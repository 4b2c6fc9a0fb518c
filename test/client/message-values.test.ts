import { afterEach, describe, expect, it } from 'vitest';
import { MemoryHub } from './helpers/memory-signaling.js';
import { allDirect, record, waitFor } from './helpers/wait.js';
import type { Room } from '../../client/src/room.js';
import { ClientError } from '../../client/src/errors.js';

let rooms: Room[] = [];
afterEach(async () => {
  await Promise.all(rooms.map((r) => r.leave()));
  rooms = [];
});

async function pair(path: 'relay' | 'p2p'): Promise<[Room, Room]> {
  const hub = new MemoryHub();
  const opts = path === 'relay' ? { relayOnly: true, wrtc: undefined } : {};
  const a = hub.join(`values-${path}`, 'a', opts);
  await a.joined;
  const b = hub.join(`values-${path}`, 'b', opts);
  await b.joined;
  rooms.push(a, b);
  if (path === 'p2p') await waitFor(() => allDirect([a, b]), 20_000, 'p2p');
  else await waitFor(() => a.peers.length === 1 && b.peers.length === 1, 5000);
  return [a, b];
}

/** [what is sent, what the receiver gets] */
const KINDS: Array<[string, unknown, unknown]> = [
  ['a string', 'héllo', 'héllo'],
  ['an empty string', '', ''],
  ['a Uint8Array', new Uint8Array([1, 2, 255]), new Uint8Array([1, 2, 255])],
  ['an ArrayBuffer', new Uint8Array([4, 5]).buffer, new Uint8Array([4, 5])],
  ['an Int16Array (any view)', new Int16Array([1, -1]), new Uint8Array(new Int16Array([1, -1]).buffer)],
  ['a DataView over part of a buffer', new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2), new Uint8Array([8, 7])],
  ['a Blob', new Blob([new Uint8Array([3, 1, 4])]), new Uint8Array([3, 1, 4])],
  ['null', null, null],
  ['a number', 42, 42],
  ['a boolean', false, false],
  ['an object', { a: 1, nested: { list: [1, 'two', null] } }, { a: 1, nested: { list: [1, 'two', null] } }],
  ['an array', [1, 2, 3], [1, 2, 3]],
  ['a long string (chunked)', 'x'.repeat(100_000), 'x'.repeat(100_000)],
  ['a large object (chunked)', { blob: 'y'.repeat(80_000) }, { blob: 'y'.repeat(80_000) }],
];

describe.each(['relay', 'p2p'] as const)('send() of each value kind over the %s', (path) => {
  it('gives the receiver the same kind back, in order', async () => {
    const [a, b] = await pair(path);
    const logB = record(b);
    for (const [, value] of KINDS) a.send(value as never);
    await waitFor(() => logB.length === KINDS.length, 20_000, 'every value');
    KINDS.forEach(([label, , expected], i) => expect(logB[i]!.data, label).toEqual(expected));
  });
});

describe('send() input checks', () => {
  it('throws INVALID_MESSAGE synchronously for what JSON cannot carry faithfully, queueing nothing', async () => {
    const [a, b] = await pair('relay');
    const logB = record(b);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const bad: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a BigInt', 10n],
      ['a cycle', cycle],
      ['NaN', NaN],
      ['a Map', new Map()],
      ['a nested function', { f: () => 1 }],
      ['a nested undefined', { u: undefined }],
      ['bytes nested in JSON', { b: new Uint8Array(1) }],
    ];
    for (const [label, value] of bad) {
      let thrown: unknown;
      try {
        a.send(value as never);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, label).toBeInstanceOf(ClientError);
      expect((thrown as ClientError).code, label).toBe('INVALID_MESSAGE');
    }
    a.send('marker');
    await waitFor(() => logB.length === 1);
    expect(logB.map((m) => m.data)).toEqual(['marker']);
  });

  it('throws MESSAGE_TOO_LARGE above maxMessageBytes, for strings by their UTF-8 size', async () => {
    const hub = new MemoryHub();
    const a = hub.join('big', 'a', { relayOnly: true, wrtc: undefined, maxMessageBytes: 10 });
    rooms.push(a);
    await a.joined;
    expect(() => a.send('0123456789')).not.toThrow();
    expect(() => a.send('é'.repeat(6))).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }));
    expect(() => a.send(new Uint8Array(11))).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }));
    expect(() => a.send(new Blob([new Uint8Array(11)]))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }),
    );
  });

  it('carries the channel name to the receiver', async () => {
    const [a, b] = await pair('relay');
    const logB = record(b);
    a.send('plain');
    a.send({ move: 'e4' }, { channel: 'game' });
    await waitFor(() => logB.length === 2);
    expect(logB.map((m) => [m.channel, m.data])).toEqual([
      [undefined, 'plain'],
      ['game', { move: 'e4' }],
    ]);
    expect(() => a.send('x', { channel: '' })).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });
});
