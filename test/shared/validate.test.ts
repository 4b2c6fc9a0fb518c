import { describe, expect, it } from 'vitest';
import { StompRtcError } from '../../shared/src/errors.js';
import { frame } from '../../shared/src/stomp/frame.js';
import type { StompFrame, StompVersion } from '../../shared/src/stomp/frame.js';
import { validateClientFrame } from '../../shared/src/stomp/validate.js';

function refusal(f: StompFrame, version?: StompVersion): { code: string; message: string } | undefined {
  try {
    validateClientFrame(f, version);
  } catch (err) {
    if (err instanceof StompRtcError) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
}

describe('validateClientFrame', () => {
  it('accepts a SEND with destination and body', () => {
    expect(refusal(frame('SEND', { destination: '/queue/a' }, 'hi'))).toBeUndefined();
  });

  it('accepts a SUBSCRIBE with destination and id', () => {
    expect(refusal(frame('SUBSCRIBE', { destination: '/topic/a', id: '0' }))).toBeUndefined();
  });

  it('accepts CONNECT and DISCONNECT without headers', () => {
    expect(refusal(frame('CONNECT'))).toBeUndefined();
    expect(refusal(frame('DISCONNECT'))).toBeUndefined();
  });

  it.each(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR'] as const)(
    'refuses server frame %s from a client with UNKNOWN_COMMAND',
    (command) => {
      expect(refusal(frame(command))?.code).toBe('UNKNOWN_COMMAND');
    },
  );

  it('refuses SUBSCRIBE without id with MISSING_HEADER naming command and header', () => {
    const result = refusal(frame('SUBSCRIBE', { destination: '/topic/a' }));
    expect(result?.code).toBe('MISSING_HEADER');
    expect(result?.message).toContain("SUBSCRIBE requires header 'id'");
    expect(result?.message).toContain('https://stomp.github.io/stomp-specification-1.2.html#SUBSCRIBE');
  });

  it('refuses SEND without destination with MISSING_HEADER', () => {
    expect(refusal(frame('SEND', {}, 'x'))?.code).toBe('MISSING_HEADER');
  });

  it.each([
    ['UNSUBSCRIBE', 'id'],
    ['ACK', 'id'],
    ['NACK', 'id'],
    ['BEGIN', 'transaction'],
    ['COMMIT', 'transaction'],
    ['ABORT', 'transaction'],
  ] as const)('refuses %s without %s', (command, header) => {
    expect(refusal(frame(command))).toEqual({
      code: 'MISSING_HEADER',
      message: expect.stringContaining(`'${header}'`),
    });
  });

  it('counts a header with an empty value as present', () => {
    expect(refusal(frame('ACK', { id: '' }))).toBeUndefined();
  });

  it('refuses a body on SUBSCRIBE with BODY_NOT_ALLOWED', () => {
    expect(refusal(frame('SUBSCRIBE', { destination: '/topic/a', id: '0' }, 'x'))?.code).toBe('BODY_NOT_ALLOWED');
  });

  it('accepts an empty body on any client command', () => {
    expect(refusal(frame('BEGIN', { transaction: 't' }, ''))).toBeUndefined();
  });

  it('applies 1.1 acknowledgement headers: message-id and subscription', () => {
    expect(refusal(frame('ACK', { 'message-id': 'm', subscription: '0' }), '1.1')).toBeUndefined();
    expect(refusal(frame('ACK', { id: 'm' }), '1.1')?.code).toBe('MISSING_HEADER');
  });

  it('applies 1.0 rules: SUBSCRIBE id is optional, ACK needs message-id', () => {
    expect(refusal(frame('SUBSCRIBE', { destination: '/topic/a' }), '1.0')).toBeUndefined();
    expect(refusal(frame('ACK', { 'message-id': 'm' }), '1.0')).toBeUndefined();
    expect(refusal(frame('ACK', {}), '1.0')?.code).toBe('MISSING_HEADER');
  });

  it('does not read headers from the prototype chain', () => {
    const headers = Object.create({ id: 'inherited' }) as Record<string, string>;
    headers['destination'] = '/topic/a';
    expect(refusal({ command: 'SUBSCRIBE', headers, body: new Uint8Array(0) })?.code).toBe('MISSING_HEADER');
  });
});
