import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, StompRtcError } from '../../shared/src/errors.js';
import { isStompCommand, STOMP_COMMANDS, UNESCAPED_COMMANDS } from '../../shared/src/stomp/commands.js';
import { createHeaders, EMPTY_BODY } from '../../shared/src/stomp/frame.js';
import type { StompCommand, StompFrame } from '../../shared/src/stomp/frame.js';
import { FrameDecoder } from '../../shared/src/stomp/frame-decoder.js';
import { encodeFrame, HEARTBEAT_EOL } from '../../shared/src/stomp/frame-encoder.js';
import type { DecoderLimits } from '../../shared/src/stomp/limits.js';

const COMMANDS = Object.keys(STOMP_COMMANDS) as StompCommand[];
const ROOMY: DecoderLimits = { maxFrameBytes: 1 << 20, maxHeaders: 1000, maxHeaderLineBytes: 1 << 16 };

/** Strings rich in the octets that escaping and framing care about, plus multi-byte UTF-8. */
const trickyString = fc
  .array(
    fc.oneof(
      fc.constantFrom(':', '\n', '\r', '\\', '\\c', '\\n', '\0', 'é', '✓', '😀', '__proto__'),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

/** CONNECT, STOMP and CONNECTED headers are never escaped, so they cannot hold what escaping would carry. */
const rawName = trickyString.map((s) => s.replace(/[\n\r:]/g, ''));
const rawValue = trickyString.map((s) => s.replace(/[\n\r]/g, ''));

const frameArb: fc.Arbitrary<StompFrame> = fc.constantFrom(...COMMANDS).chain((command) => {
  const raw = UNESCAPED_COMMANDS.has(command);
  const name = (raw ? rawName : trickyString).filter((n) => n !== 'content-length');
  const entries = fc.uniqueArray(fc.tuple(name, raw ? rawValue : trickyString), { selector: ([n]) => n, maxLength: 6 });
  const body = STOMP_COMMANDS[command].bodyAllowed ? fc.uint8Array({ maxLength: 64 }) : fc.constant(EMPTY_BODY);
  return fc.tuple(entries, body).map(([headers, bytes]) => ({ command, headers: createHeaders(headers), body: bytes }));
});

const chunkSizes = fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 8 });

function* cut(data: Uint8Array, sizes: number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield data.slice(offset, offset + size);
    offset += size;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Frame as comparable data; header order is not part of a frame's meaning. */
function plain(f: StompFrame): { command: string; headers: [string, string][]; body: number[] } {
  return {
    command: f.command,
    headers: Object.entries(f.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    body: Array.from(f.body),
  };
}

function expectedAfterRoundTrip(f: StompFrame): ReturnType<typeof plain> {
  const headers = createHeaders(Object.entries(f.headers));
  if (STOMP_COMMANDS[f.command].bodyAllowed) headers['content-length'] = String(f.body.length);
  return plain({ ...f, headers });
}

describe('codec properties', () => {
  it('decodes what it encodes (1.2), whatever the chunking and heart-beats between frames, bodies viewed or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(frameArb, fc.nat({ max: 2 })), { minLength: 1, maxLength: 3 }),
        chunkSizes,
        fc.boolean(),
        (frames, sizes, viewBodies) => {
          const wire = concat(
            frames.flatMap(([f, beats]) => [encodeFrame(f, '1.2'), ...Array<Uint8Array>(beats).fill(HEARTBEAT_EOL)]),
          );
          const decoded: StompFrame[] = [];
          let heartbeats = 0;
          const decoder = new FrameDecoder(
            { limits: ROOMY, version: '1.2', viewBodies },
            (f) => decoded.push(f),
            () => heartbeats++,
          );
          for (const chunk of cut(wire, sizes)) decoder.push(chunk);
          expect(decoded.map(plain)).toEqual(frames.map(([f]) => expectedAfterRoundTrip(f)));
          expect(heartbeats).toBe(frames.reduce((n, [, beats]) => n + beats, 0));
        },
      ),
      { numRuns: 1000 },
    );
  });

  const catalogue = new Set(Object.keys(ERROR_CATALOGUE));
  const limitsArb = fc.record({
    maxFrameBytes: fc.integer({ min: 1, max: 300 }),
    maxHeaders: fc.integer({ min: 0, max: 8 }),
    maxHeaderLineBytes: fc.integer({ min: 1, max: 64 }),
  });

  /** Feeds chunks until the first error; only frames or catalogue-coded StompRtcErrors may come out. */
  function feedSurvives(data: Uint8Array, sizes: number[], limits: DecoderLimits): void {
    const decoder = new FrameDecoder({ limits, version: '1.2' }, (f) => {
      expect(isStompCommand(f.command)).toBe(true);
      expect(f.body).toBeInstanceOf(Uint8Array);
    });
    try {
      for (const chunk of cut(data, sizes)) decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof StompRtcError)) throw err;
      expect(catalogue.has(err.code)).toBe(true);
      expect(() => decoder.push(Uint8Array.of(0x0a))).toThrow(StompRtcError);
    }
  }

  const token = fc.constantFrom(
    'SEND',
    'CONNECT',
    'MESSAGE',
    'ACK',
    '\n',
    '\r\n',
    '\r',
    ':',
    '\\',
    '\\c',
    '\\t',
    '\0',
    'content-length:',
    '3',
    '-1',
    'a',
    'é',
  );
  const noisyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc
      .tuple(fc.constantFrom(...COMMANDS), fc.array(token, { maxLength: 40 }))
      .map(([command, t]) => new TextEncoder().encode(`${command}\n${t.join('')}`)),
  );

  it('turns random bytes into frames or catalogue-coded StompRtcErrors only', () => {
    fc.assert(fc.property(noisyBytes, chunkSizes, fc.oneof(fc.constant(ROOMY), limitsArb), feedSurvives), {
      numRuns: 1000,
    });
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      value: fc.constantFrom(0, 0x0a, 0x0d, 0x3a, 0x5c, 0x41),
    }),
  );

  it('turns mutated valid frames into frames or catalogue-coded StompRtcErrors only', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 2 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        chunkSizes,
        fc.oneof(fc.constant(ROOMY), limitsArb),
        (frames, mutations, sizes, limits) => {
          const bytes = Array.from(concat(frames.map((f) => encodeFrame(f, '1.2'))));
          for (const { kind, at, value } of mutations) {
            const i = at % (bytes.length + 1);
            if (kind === 'flip') bytes[i] = value;
            else if (kind === 'delete') bytes.splice(i, 1);
            else bytes.splice(i, 0, value);
          }
          feedSurvives(Uint8Array.from(bytes), sizes, limits);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
