import { describe, expect, it } from 'vitest';
import { StompRtcError } from '../../shared/src/errors.js';
import { escapeHeader, unescapeHeader } from '../../shared/src/stomp/header-escape.js';
import type { StompVersion } from '../../shared/src/stomp/frame.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StompRtcError ? err.code : `not a StompRtcError: ${String(err)}`;
  }
  return undefined;
}

describe('escapeHeader', () => {
  it('escapes backslash, LF, CR and colon in 1.2', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.2')).toBe('a\\\\b\\nc\\rd\\ce');
  });

  it('leaves CR literal in 1.1, which has no \\r escape', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.1')).toBe('a\\\\b\\nc\rd\\ce');
  });

  it('escapes nothing in 1.0', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.0')).toBe('a\\b\nc\rd:e');
  });

  it('returns a value without special octets unchanged', () => {
    expect(escapeHeader('/topic/room/lobby', '1.2')).toBe('/topic/room/lobby');
  });

  it('escapes every occurrence, not just the first', () => {
    expect(escapeHeader('::\\\\', '1.2')).toBe('\\c\\c\\\\\\\\');
  });
});

describe('unescapeHeader', () => {
  it('decodes \\\\ \\n \\r \\c in 1.2', () => {
    expect(unescapeHeader('a\\\\b\\nc\\rd\\ce', '1.2')).toBe('a\\b\nc\rd:e');
  });

  it(String.raw`reads wire a\\c as a\c in one pass, where a chained replace() gives a\:`, () => {
    // Wire octets: a \ \ c — an escaped backslash followed by a plain "c".
    expect(unescapeHeader('a\\\\c', '1.2')).toBe('a\\c');
    expect(unescapeHeader('a\\\\c', '1.1')).toBe('a\\c');
  });

  it('decodes \\\\ \\n \\c in 1.1', () => {
    expect(unescapeHeader('a\\\\b\\nc\\cd', '1.1')).toBe('a\\b\nc:d');
  });

  it('rejects \\r in 1.1 with INVALID_ESCAPE', () => {
    expect(codeOf(() => unescapeHeader('a\\rb', '1.1'))).toBe('INVALID_ESCAPE');
  });

  it('rejects an undefined escape such as \\t with INVALID_ESCAPE', () => {
    expect(codeOf(() => unescapeHeader('a\\tb', '1.2'))).toBe('INVALID_ESCAPE');
  });

  it('rejects a trailing lone backslash with INVALID_ESCAPE', () => {
    expect(codeOf(() => unescapeHeader('abc\\', '1.2'))).toBe('INVALID_ESCAPE');
  });

  it('treats a backslash as an ordinary octet in 1.0', () => {
    expect(unescapeHeader('c:\\temp\\t\\', '1.0')).toBe('c:\\temp\\t\\');
  });

  it.each<StompVersion>(['1.1', '1.2'])('undoes escapeHeader in %s', (version) => {
    const value = 'x:\\n\n\\\\c::\\';
    expect(unescapeHeader(escapeHeader(value, version), version)).toBe(value);
  });

  it('keeps unicode intact', () => {
    expect(unescapeHeader('h\\céllo ✓ 😀', '1.2')).toBe('h:éllo ✓ 😀');
  });
});
