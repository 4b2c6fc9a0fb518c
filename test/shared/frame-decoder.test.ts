import { describe, expect, it } from 'vitest';
import { StompRtcError } from '../../shared/src/errors.js';
import type { ErrorCode } from '../../shared/src/errors.js';
import { FrameDecoder } from '../../shared/src/stomp/frame-decoder.js';
import type { StompFrame, StompVersion } from '../../shared/src/stomp/frame.js';
import { DEFAULT_DECODER_LIMITS } from '../../shared/src/stomp/limits.js';
import type { DecoderLimits } from '../../shared/src/stomp/limits.js';

interface Options {
  version?: StompVersion;
  limits?: Partial<DecoderLimits>;
}

/** What a decoder saw, in order: frames (plain objects) and heart-beats. */
type Event = { command: string; headers: Record<string, string>; body: number[] } | 'heart-beat';

const utf8 = new TextEncoder();

function bytes(...parts: (string | Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** An `allocate` that hands out consecutive pieces of one 64-byte slab. */
function slabAllocator(): { slab: ArrayBuffer; allocate: (length: number) => Uint8Array } {
  const slab = new ArrayBuffer(64);
  let used = 0;
  const allocate = (length: number) => {
    const memory = new Uint8Array(slab, used, length);
    used += length;
    return memory;
  };
  return { slab, allocate };
}

function decoderFor(options: Options, events: Event[]): FrameDecoder {
  return new FrameDecoder(
    { version: options.version, limits: { ...DEFAULT_DECODER_LIMITS, ...options.limits } },
    (f: StompFrame) => events.push({ command: f.command, headers: { ...f.headers }, body: Array.from(f.body) }),
    () => events.push('heart-beat'),
  );
}

function decodeChunks(chunks: Uint8Array[], options: Options = {}): Event[] {
  const events: Event[] = [];
  const decoder = decoderFor(options, events);
  for (const chunk of chunks) decoder.push(chunk);
  return events;
}

/**
 * Decodes `wire` whole, split in two at every byte position, and one byte at a time; all must
 * agree. Returns the events of the whole-chunk decode.
 */
function decode(wire: string | Uint8Array, options: Options = {}): Event[] {
  const data = typeof wire === 'string' ? bytes(wire) : wire;
  const whole = decodeChunks([data], options);
  for (let i = 0; i <= data.length; i++) {
    expect(decodeChunks([data.slice(0, i), data.slice(i)], options), `split at byte ${i}`).toEqual(whole);
  }
  expect(
    decodeChunks(
      Array.from(data, (b) => Uint8Array.of(b)),
      options,
    ),
    'one byte at a time',
  ).toEqual(whole);
  return whole;
}

function frameOf(command: string, headers: Record<string, string>, body: string | number[] = []): Event {
  return { command, headers, body: typeof body === 'string' ? Array.from(utf8.encode(body)) : body };
}

/** The code of the StompRtcError that `chunks` provoke; fails on any other outcome. */
function errorCode(chunks: (string | Uint8Array)[], options: Options = {}, events: Event[] = []): ErrorCode {
  const decoder = decoderFor(options, events);
  try {
    for (const chunk of chunks) decoder.push(typeof chunk === 'string' ? bytes(chunk) : chunk);
  } catch (err) {
    if (err instanceof StompRtcError) return err.code;
    throw err;
  }
  throw new Error('expected the decoder to throw');
}

describe('FrameDecoder: valid frames', () => {
  it('decodes a SEND frame with a body that runs to the NUL', () => {
    expect(decode('SEND\ndestination:/queue/a\n\nhello\0')).toEqual([
      frameOf('SEND', { destination: '/queue/a' }, 'hello'),
    ]);
  });

  it('decodes a frame with no headers and no body', () => {
    expect(decode('DISCONNECT\n\n\0')).toEqual([frameOf('DISCONNECT', {})]);
  });

  it('accepts CRLF on the command line, header lines and the blank line', () => {
    expect(decode('SEND\r\ndestination:/queue/a\r\nfoo:bar\r\n\r\nhi\0')).toEqual([
      frameOf('SEND', { destination: '/queue/a', foo: 'bar' }, 'hi'),
    ]);
  });

  it('counts each LF and CRLF between frames as one heart-beat', () => {
    expect(decode('\n\r\nDISCONNECT\n\n\0\n\n\r\n\nDISCONNECT\n\n\0\r\n')).toEqual([
      'heart-beat',
      'heart-beat',
      frameOf('DISCONNECT', {}),
      'heart-beat',
      'heart-beat',
      'heart-beat',
      'heart-beat',
      frameOf('DISCONNECT', {}),
      'heart-beat',
    ]);
  });

  it('reads exactly content-length octets, NUL octets included', () => {
    expect(decode('SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0')).toEqual([
      frameOf('SEND', { destination: '/q', 'content-length': '5' }, [0x61, 0, 0x62, 0, 0x63]),
    ]);
  });

  it('accepts content-length:0', () => {
    expect(decode('SEND\ndestination:/q\ncontent-length:0\n\n\0')).toEqual([
      frameOf('SEND', { destination: '/q', 'content-length': '0' }),
    ]);
  });

  it('passes binary bodies through octet for octet', () => {
    const body = Array.from({ length: 256 }, (_, i) => i);
    expect(decode(bytes('SEND\ndestination:/q\ncontent-length:256\n\n', body, [0]))).toEqual([
      frameOf('SEND', { destination: '/q', 'content-length': '256' }, body),
    ]);
  });

  it('decodes non-NUL binary and UTF-8 bodies without content-length', () => {
    expect(decode(bytes('SEND\ndestination:/q\n\n', [0xff, 0xfe, 0x0a, 0x0d], 'ü', [0]))).toEqual([
      frameOf('SEND', { destination: '/q' }, [0xff, 0xfe, 0x0a, 0x0d, 0xc3, 0xbc]),
    ]);
  });

  it('decodes many frames packed in one chunk', () => {
    expect(
      decode('SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\0SEND\ndestination:/topic/a\n\nx\0ACK\nid:7\n\n\0'),
    ).toEqual([
      frameOf('SUBSCRIBE', { id: '1', destination: '/topic/a' }),
      frameOf('SEND', { destination: '/topic/a' }, 'x'),
      frameOf('ACK', { id: '7' }),
    ]);
  });

  it('decodes server frames too (the session decides direction)', () => {
    expect(decode('MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n\nm\0')).toEqual([
      frameOf('MESSAGE', { destination: '/q', 'message-id': '1', subscription: '0' }, 'm'),
    ]);
  });

  it('decodes header names and values as UTF-8', () => {
    expect(decode('SEND\ndestination:/topic/café\nnäme:✓ 😀\n\n\0')).toEqual([
      frameOf('SEND', { destination: '/topic/café', näme: '✓ 😀' }),
    ]);
  });

  it('splits a header at the first colon; later colons belong to the value', () => {
    expect(decode('SEND\ndestination:/q\nurl:http://x:80/\nempty:\n\n\0')).toEqual([
      frameOf('SEND', { destination: '/q', url: 'http://x:80/', empty: '' }),
    ]);
  });

  it('keeps the first of repeated headers', () => {
    expect(decode('MESSAGE\nfoo:World\nfoo:Hello\n\n\0')).toEqual([frameOf('MESSAGE', { foo: 'World' })]);
  });

  it('keeps the first content-length when it is repeated', () => {
    expect(decode('SEND\ncontent-length:1\ncontent-length:x\n\n\0\0')).toEqual([
      frameOf('SEND', { 'content-length': '1' }, [0]),
    ]);
  });

  it('treats a header named __proto__ as an ordinary header', () => {
    const events = decode('SEND\n__proto__:x\nconstructor:y\n\n\0');
    expect(events).toEqual([frameOf('SEND', { ['__proto__']: 'x', constructor: 'y' })]);
    const frame = events[0] as Exclude<Event, 'heart-beat'>;
    expect(Object.keys(frame.headers)).toEqual(['__proto__', 'constructor']);
  });

  it('decodes a head of more lines than a one-pass read notes (128), line by line', () => {
    const names = Array.from({ length: 150 }, (_, i) => `h${i}`);
    const wire = `SEND\n${names.map((name) => `${name}:v\\c${name}\n`).join('')}\nbody\0`;
    const [frame] = decode(wire, { limits: { maxHeaders: 200 } });
    expect(frame).toEqual(frameOf('SEND', Object.fromEntries(names.map((name) => [name, `v:${name}`])), 'body'));
  });

  it('stores headers on an object that inherits nothing', () => {
    const frames: StompFrame[] = [];
    new FrameDecoder({}, (f) => frames.push(f)).push(bytes('SEND\n__proto__:x\n\n\0'));
    const headers = frames[0]!.headers;
    expect(headers['__proto__']).toBe('x');
    // Absent headers read as absent, whatever Object.prototype has under their names.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) expect(headers[name]).toBeUndefined();
    expect('toString' in headers).toBe(false);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(headers))).toBe(null);
  });

  it("copies from a Node Buffer too, whose slice() is a view: neither body nor a line carried over aliases the caller's chunk", () => {
    const frames: StompFrame[] = [];
    const decoder = new FrameDecoder({}, (f) => frames.push(f));
    const first = Buffer.from('SEND\ndesti');
    const second = Buffer.from('nation:/queue/a\n\nabc\0');
    decoder.push(first);
    first.fill(0x7a);
    decoder.push(second);
    second.fill(0x7a);
    expect(frames[0]?.headers.destination).toBe('/queue/a');
    expect(Array.from(frames[0]?.body ?? [])).toEqual([0x61, 0x62, 0x63]);
    // Its own memory, not a window on the caller's.
    expect(frames[0]?.body.byteLength).toBe(frames[0]?.body.buffer.byteLength);
  });

  it('puts every body in memory from `allocate`, whole before the frame is emitted', () => {
    const { slab, allocate } = slabAllocator();
    const bodies: string[] = [];
    const decoder = new FrameDecoder({ allocate }, (f) => {
      expect(f.body.buffer).toBe(slab);
      bodies.push(new TextDecoder().decode(f.body));
    });
    const chunks = ['SEND\ncontent-length:3\n\nabc\0SEND\n\ndef\0SEND\n\ngh', 'i\0'].map((c) => bytes(c));
    for (const chunk of chunks) {
      decoder.push(chunk);
      chunk.fill(0x7a);
    }
    expect(bodies).toEqual(['abc', 'def', 'ghi']);
  });

  it("does not alias the caller's chunk in the body", () => {
    const frames: StompFrame[] = [];
    const chunk = bytes('SEND\n\nabc\0');
    new FrameDecoder({}, (f) => frames.push(f)).push(chunk);
    chunk.fill(0x7a);
    expect(Array.from(frames[0]?.body ?? [])).toEqual([0x61, 0x62, 0x63]);
  });

  it('with viewBodies, hands out a body that lies whole in the chunk as a view of it, sized or not', () => {
    const bodies: Uint8Array[] = [];
    const allocate = () => {
      throw new Error('no body here needs memory of its own');
    };
    const decoder = new FrameDecoder({ allocate, viewBodies: true }, (f) => bodies.push(f.body));
    const chunk = bytes('SEND\ncontent-length:3\n\na\0c\0SEND\n\ndef\0SEND\ncontent-length:0\n\n\0');
    decoder.push(chunk);
    expect(bodies.map((b) => Array.from(b))).toEqual([[0x61, 0, 0x63], [0x64, 0x65, 0x66], []]);
    expect(bodies[0]!.buffer).toBe(chunk.buffer);
    expect(bodies[0]!.byteOffset).toBe('SEND\ncontent-length:3\n\n'.length);
    expect(bodies[1]!.buffer).toBe(chunk.buffer);
  });

  it('with viewBodies, puts a body split across chunks together in memory from `allocate`', () => {
    const { slab, allocate } = slabAllocator();
    const bodies: Array<[string, 'own' | 'view']> = [];
    const decoder = new FrameDecoder({ allocate, viewBodies: true }, (f) => {
      bodies.push([new TextDecoder().decode(f.body), f.body.buffer === slab ? 'own' : 'view']);
    });
    // The second body starts a chunk and lies whole in it: a view of that chunk.
    const chunks = ['SEND\ncontent-length:3\n\nab', 'c\0SEND\ncontent-length:2\n\n', 'de\0SEND\n\ngh', 'i\0'];
    for (const chunk of chunks.map((c) => bytes(c))) decoder.push(chunk);
    expect(bodies).toEqual([
      ['abc', 'own'],
      ['de', 'view'],
      ['ghi', 'own'],
    ]);
  });
});

describe('FrameDecoder: header escaping', () => {
  it('unescapes \\\\ \\n \\r \\c in 1.2', () => {
    expect(decode('SEND\na\\cb:x\\\\y\\nz\\r\\c\n\n\0', { version: '1.2' })).toEqual([
      frameOf('SEND', { 'a:b': 'x\\y\nz\r:' }),
    ]);
  });

  it('reads a\\\\\\\\c on the wire as a\\\\c', () => {
    expect(decode('SEND\nh:a\\\\c\n\n\0')).toEqual([frameOf('SEND', { h: 'a\\c' })]);
  });

  it('unescapes \\\\ \\n \\c in 1.1', () => {
    expect(decode('SEND\nh:x\\\\y\\nz\\c\n\n\0', { version: '1.1' })).toEqual([frameOf('SEND', { h: 'x\\y\nz:' })]);
  });

  it('rejects \\r in 1.1 with INVALID_ESCAPE', () => {
    expect(errorCode(['SEND\nh:a\\rb\n\n\0'], { version: '1.1' })).toBe('INVALID_ESCAPE');
  });

  it('treats backslashes as literal in 1.0', () => {
    expect(decode('SEND\nh:c:\\temp\\n\\\n\n\0', { version: '1.0' })).toEqual([
      frameOf('SEND', { h: 'c:\\temp\\n\\' }),
    ]);
  });

  it('never unescapes CONNECT, STOMP or CONNECTED headers', () => {
    expect(
      decode('CONNECT\nlogin:a\\nb\npasscode:p\\t\n\n\0STOMP\nx:\\c\n\n\0CONNECTED\nversion:1.2\\r\n\n\0'),
    ).toEqual([
      frameOf('CONNECT', { login: 'a\\nb', passcode: 'p\\t' }),
      frameOf('STOMP', { x: '\\c' }),
      frameOf('CONNECTED', { version: '1.2\\r' }),
    ]);
  });

  it('applies a new version from the next frame on', () => {
    const events: Event[] = [];
    const decoder = decoderFor({ version: '1.0' }, events);
    decoder.push(bytes('SEND\nh:\\t'));
    decoder.setVersion('1.2');
    decoder.push(bytes('\n\n\0SEND\nh:\\c\n\n\0'));
    expect(events).toEqual([frameOf('SEND', { h: '\\t' }), frameOf('SEND', { h: ':' })]);
  });

  it('applies a version set inside onFrame to the next frame of the same chunk', () => {
    const names: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({ version: '1.0' }, (f) => {
      names.push(f.headers['h'] ?? '');
      decoder.setVersion('1.2');
    });
    decoder.push(bytes('SEND\nh:\\c\n\n\0SEND\nh:\\c\n\n\0'));
    expect(names).toEqual(['\\c', ':']);
  });
});

describe('FrameDecoder: errors', () => {
  it('rejects an unknown command with UNKNOWN_COMMAND', () => {
    expect(errorCode(['FOO\n\n\0'])).toBe('UNKNOWN_COMMAND');
  });

  it('rejects a lower-case command with UNKNOWN_COMMAND', () => {
    expect(errorCode(['send\n\n\0'])).toBe('UNKNOWN_COMMAND');
  });

  it('rejects a header line without a colon with MALFORMED_FRAME', () => {
    expect(errorCode(['SEND\ndestination\n\n\0'])).toBe('MALFORMED_FRAME');
  });

  it.each(['-1', '1.0', ' 1', '0x10', '', 'abc'])('rejects content-length:%s with MALFORMED_FRAME', (value) => {
    expect(errorCode([`SEND\ncontent-length:${value}\n\n\0`])).toBe('MALFORMED_FRAME');
  });

  // STOMP 1.2 EOL is LF or CRLF; a lone CR ends no line, so the decoder must not wait for one.
  it.each([
    ['CR-only line ends', 'SEND\rdestination:/topic/x\r\rbody\0'],
    ['a CR inside the command line', 'SE\rND\n\n\0'],
    ['a lone CR ending a 1.2 header line', 'SEND\ndestination:/topic/x\rx-a:b\n\n\0'],
    ['a NUL in the command line', 'SEND\0'],
  ])('rejects %s with MALFORMED_FRAME at once, whole or in pieces', (_label, wire) => {
    expect(errorCode([wire])).toBe('MALFORMED_FRAME');
    expect(errorCode(Array.from(bytes(wire), (b) => Uint8Array.of(b)))).toBe('MALFORMED_FRAME');
  });

  it('keeps a lone CR in a 1.1 header value, where CR is an ordinary octet', () => {
    expect(decode('SEND\nx-a:b\rc\n\n\0', { version: '1.1' })).toEqual([frameOf('SEND', { 'x-a': 'b\rc' })]);
  });

  it('rejects a content-length body not followed by NUL with MALFORMED_FRAME', () => {
    expect(errorCode(['SEND\ncontent-length:2\n\nabc\0'])).toBe('MALFORMED_FRAME');
  });

  it('rejects an undefined escape with INVALID_ESCAPE', () => {
    expect(errorCode(['SEND\nh:a\\tb\n\n\0'])).toBe('INVALID_ESCAPE');
  });

  it('rejects a content-length over maxFrameBytes as soon as the header block ends, before any body', () => {
    const decoder = decoderFor({ limits: { maxFrameBytes: 100 } }, []);
    decoder.push(bytes('SEND\ndestination:/q\ncontent-length:1000\n'));
    expect(() => decoder.push(bytes('\n'))).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });

  it('rejects a content-length too large to be a safe integer with FRAME_TOO_LARGE', () => {
    expect(errorCode(['SEND\ncontent-length:99999999999999999999999\n\n'])).toBe('FRAME_TOO_LARGE');
  });

  it('accepts a frame of exactly maxFrameBytes, command line to NUL', () => {
    const wire = 'SEND\ncontent-length:3\n\nabc\0';
    expect(decode(wire, { limits: { maxFrameBytes: bytes(wire).length } })).toHaveLength(1);
    expect(errorCode([wire], { limits: { maxFrameBytes: bytes(wire).length - 1 } })).toBe('FRAME_TOO_LARGE');
  });

  it('rejects an unterminated body once it can no longer fit maxFrameBytes', () => {
    const head = 'SEND\n\n'; // 6 bytes; with the NUL, 94 body bytes still fit in 101
    const options = { limits: { maxFrameBytes: 101 } };
    expect(() => decoderFor(options, []).push(bytes(head, 'x'.repeat(94)))).not.toThrow();
    expect(errorCode([head, 'x'.repeat(95)], options)).toBe('FRAME_TOO_LARGE');
  });

  it('refuses a head in one chunk as it does line by line: same error, same message, at the same limits', () => {
    // A whole plain head is read at once (#readHead); one byte at a time it is read line by line.
    const cases: Array<[string, Options]> = [
      [`SEND\nx:${'a'.repeat(98)}\n\n\0`, { limits: { maxHeaderLineBytes: 99 } }],
      [`SEND\n${'a:1\n'.repeat(5)}\n\0`, { limits: { maxHeaders: 4 } }],
      [`SEND\n${'a:1234567890\n'.repeat(10)}\n\0`, { limits: { maxFrameBytes: 100 } }],
      ['SEND\nno colon\n\n\0', {}],
      ['FOO\n\n\0', {}],
    ];
    for (const [wire, options] of cases) {
      const refusal = (chunks: Uint8Array[]) => {
        try {
          decodeChunks(chunks, options);
        } catch (err) {
          return `${(err as StompRtcError).code}: ${(err as Error).message}`;
        }
        return 'accepted';
      };
      const whole = refusal([bytes(wire)]);
      expect(whole, wire).not.toBe('accepted');
      expect(refusal(Array.from(bytes(wire), (b) => Uint8Array.of(b))), wire).toBe(whole);
    }
    // One octet under each limit, the same heads are frames.
    expect(decode(`SEND\nx:${'a'.repeat(97)}\n\n\0`, { limits: { maxHeaderLineBytes: 99 } })).toHaveLength(1);
    expect(decode(`SEND\n${'a:1\n'.repeat(4)}\n\0`, { limits: { maxHeaders: 4 } })).toHaveLength(1);
  });

  it('rejects header lines that add up over maxFrameBytes with FRAME_TOO_LARGE', () => {
    expect(errorCode(['SEND\n', 'a:1234567890\n'.repeat(10)], { limits: { maxFrameBytes: 100 } })).toBe(
      'FRAME_TOO_LARGE',
    );
  });

  it('rejects a header beyond maxHeaders with TOO_MANY_HEADERS as soon as its line ends', () => {
    const options = { limits: { maxHeaders: 2 } };
    expect(decode('SEND\na:1\nb:2\n\n\0', options)).toHaveLength(1);
    expect(errorCode(['SEND\na:1\nb:2\nc:3\n'], options)).toBe('TOO_MANY_HEADERS');
  });

  it('counts repeated headers against maxHeaders', () => {
    expect(errorCode(['SEND\na:1\na:2\na:3\n'], { limits: { maxHeaders: 2 } })).toBe('TOO_MANY_HEADERS');
  });

  it('rejects an unterminated header line over maxHeaderLineBytes with HEADER_TOO_LONG', () => {
    const options = { limits: { maxHeaderLineBytes: 16 } };
    expect(errorCode(['SEND\n', 'a:', 'x'.repeat(15)], options)).toBe('HEADER_TOO_LONG');
  });

  it('accepts a header line of exactly maxHeaderLineBytes, with LF or CRLF', () => {
    const options = { limits: { maxHeaderLineBytes: 16 } };
    const line = `a:${'x'.repeat(14)}`;
    expect(decode(`SEND\n${line}\n\n\0`, options)).toHaveLength(1);
    expect(decode(`SEND\r\n${line}\r\n\r\n\0`, options)).toHaveLength(1);
    expect(errorCode([`SEND\n${line}x\n`], options)).toBe('HEADER_TOO_LONG');
  });

  it('rejects an unterminated command line over maxHeaderLineBytes with HEADER_TOO_LONG', () => {
    expect(errorCode(['X'.repeat(17)], { limits: { maxHeaderLineBytes: 16 } })).toBe('HEADER_TOO_LONG');
  });

  it('keeps throwing after an error, even for valid input', () => {
    const decoder = decoderFor({}, []);
    expect(() => decoder.push(bytes('FOO\n\n\0'))).toThrow(StompRtcError);
    let code: string | undefined;
    try {
      decoder.push(bytes('DISCONNECT\n\n\0'));
    } catch (err) {
      code = err instanceof StompRtcError ? err.code : 'other';
    }
    expect(code).toBe('UNKNOWN_COMMAND');
  });

  it('raises maxFrameBytes with setLimits for the frame in progress', () => {
    const events: Event[] = [];
    const decoder = decoderFor({ limits: { maxFrameBytes: 30 } }, events);
    decoder.push(bytes('SEND\ncontent-length:'));
    decoder.setLimits({ ...DEFAULT_DECODER_LIMITS, maxFrameBytes: 1000 });
    decoder.push(bytes('100\n\n', 'x'.repeat(100), '\0'));
    expect(events).toHaveLength(1);
  });
});
