import { describe, expect, it } from 'vitest';
import { frame } from '../../shared/src/stomp/frame.js';
import { encodeFrame, HEARTBEAT_EOL } from '../../shared/src/stomp/frame-encoder.js';
import { HEADER_NAMES } from '../../shared/src/stomp/header-names.js';
import { escapeHeader } from '../../shared/src/stomp/header-escape.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('encodeFrame', () => {
  it('writes command, headers, blank line and NUL for a frame without body', () => {
    expect(text(encodeFrame(frame('SUBSCRIBE', { id: '0', destination: '/topic/a' }), '1.2'))).toBe(
      'SUBSCRIBE\nid:0\ndestination:/topic/a\n\n\0',
    );
  });

  it('adds content-length to a frame that may carry a body', () => {
    expect(text(encodeFrame(frame('SEND', { destination: '/q' }, 'hello'), '1.2'))).toBe(
      'SEND\ndestination:/q\ncontent-length:5\n\nhello\0',
    );
  });

  it('adds content-length:0 to an empty MESSAGE body', () => {
    expect(
      text(encodeFrame(frame('MESSAGE', { destination: '/q', 'message-id': '1', subscription: '0' }), '1.2')),
    ).toBe('MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\ncontent-length:0\n\n\0');
  });

  it('replaces a wrong content-length with the true one', () => {
    expect(text(encodeFrame(frame('SEND', { 'content-length': '99', destination: '/q' }, 'ab'), '1.2'))).toBe(
      'SEND\ndestination:/q\ncontent-length:2\n\nab\0',
    );
  });

  it('counts content-length in octets, not characters', () => {
    expect(text(encodeFrame(frame('SEND', {}, 'é✓'), '1.2'))).toBe('SEND\ncontent-length:5\n\né✓\0');
  });

  it('writes the whole frame into memory from `allocate`, which it need not find zeroed', () => {
    const headers = { destination: '/q', note: 'é✓ 𝄞 \ud800' };
    const allocate = (length: number) => new Uint8Array(length).fill(0xff);
    const pooled = encodeFrame(frame('SEND', headers, 'a\u0000b'), '1.2', allocate);
    expect(Array.from(pooled)).toEqual(Array.from(encodeFrame(frame('SEND', headers, 'a\u0000b'), '1.2')));
    expect(text(pooled)).toBe('SEND\ndestination:/q\nnote:é✓ 𝄞 \ufffd\ncontent-length:3\n\na\u0000b\0');
  });

  it('writes binary bodies with NUL octets unchanged', () => {
    const out = encodeFrame(frame('SEND', {}, Uint8Array.of(0, 1, 0, 255)), '1.2');
    expect(Array.from(out)).toEqual([...new TextEncoder().encode('SEND\ncontent-length:4\n\n'), 0, 1, 0, 255, 0]);
  });

  it('skips the escape test only for names that escape to themselves in every version', () => {
    for (const name of HEADER_NAMES) {
      for (const version of ['1.0', '1.1', '1.2'] as const) expect(escapeHeader(name, version)).toBe(name);
    }
  });

  it('escapes \\\\ \\n \\r \\c in names and values in 1.2', () => {
    expect(text(encodeFrame(frame('RECEIPT', { 'a:b': 'x\\y\nz\r' }), '1.2'))).toBe(
      'RECEIPT\na\\cb:x\\\\y\\nz\\r\n\n\0',
    );
  });

  it('escapes \\\\ \\n \\c but leaves CR literal in 1.1', () => {
    expect(text(encodeFrame(frame('RECEIPT', { 'a:b': 'x\\y\nz\rw' }), '1.1'))).toBe(
      'RECEIPT\na\\cb:x\\\\y\\nz\rw\n\n\0',
    );
  });

  it('escapes nothing in 1.0', () => {
    expect(text(encodeFrame(frame('RECEIPT', { 'receipt-id': 'c:\\x' }), '1.0'))).toBe(
      'RECEIPT\nreceipt-id:c:\\x\n\n\0',
    );
  });

  it('never escapes CONNECT and CONNECTED headers', () => {
    expect(text(encodeFrame(frame('CONNECTED', { version: '1.2', server: 'a:b\\c' }), '1.2'))).toBe(
      'CONNECTED\nversion:1.2\nserver:a:b\\c\n\n\0',
    );
  });

  it('refuses a line feed in a 1.0 header value with a TypeError', () => {
    expect(() => encodeFrame(frame('MESSAGE', { note: 'a\nb' }), '1.0')).toThrow(TypeError);
  });

  it('refuses a colon in a 1.0 header name with a TypeError', () => {
    expect(() => encodeFrame(frame('MESSAGE', { 'a:b': 'x' }), '1.0')).toThrow(/header name/);
  });

  it('refuses a line feed in a CONNECTED header value with a TypeError', () => {
    expect(() => encodeFrame(frame('CONNECTED', { server: 'a\nb' }), '1.2')).toThrow(TypeError);
  });

  it('writes a header named __proto__ like any other', () => {
    expect(text(encodeFrame(frame('RECEIPT', { ['__proto__']: 'x', 'receipt-id': '1' }), '1.2'))).toBe(
      'RECEIPT\n__proto__:x\nreceipt-id:1\n\n\0',
    );
  });
});

describe('HEARTBEAT_EOL', () => {
  it('is a single LF', () => {
    expect(Array.from(HEARTBEAT_EOL)).toEqual([0x0a]);
  });
});
