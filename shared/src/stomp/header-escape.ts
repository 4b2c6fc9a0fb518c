import { StompRtcError } from '../errors.js';
import type { StompVersion } from './frame.js';

/*
 * "\r (octet 92 and 114) translates to carriage return (octet 13)
 *  \n (octet 92 and 110) translates to line feed (octet 10)
 *  \c (octet 92 and 99) translates to : (octet 58)
 *  \\ (octet 92 and 92) translates to \ (octet 92)
 *  Undefined escape sequences such as \t (octet 92 and 116) MUST be treated as a fatal protocol
 *  error." (STOMP 1.2 §Value Encoding). STOMP 1.1 defines the same set without \r; STOMP 1.0
 *  defines no escaping, so a backslash there is an ordinary octet.
 */

const ESCAPE_12: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c' };
const ESCAPE_11: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', ':': '\\c' };
const NEEDS_ESCAPE_12 = /[\\\n\r:]/g;
const NEEDS_ESCAPE_11 = /[\\\n:]/g;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const BACKSLASH = 0x5c;

const UNESCAPE_12: Readonly<Record<string, string>> = { '\\': '\\', n: '\n', r: '\r', c: ':' };
const UNESCAPE_11: Readonly<Record<string, string>> = { '\\': '\\', n: '\n', c: ':' };

/** Escapes a header name or value for the wire. In 1.1 a CR stays a literal octet (1.1 has no \r). */
export function escapeHeader(value: string, version: StompVersion): string {
  if (version === '1.0' || !hasSpecialOctet(value)) return value;
  const pattern = version === '1.2' ? NEEDS_ESCAPE_12 : NEEDS_ESCAPE_11;
  const table = version === '1.2' ? ESCAPE_12 : ESCAPE_11;
  pattern.lastIndex = 0;
  return value.replace(pattern, (ch) => table[ch] ?? ch);
}

/**
 * Whether `value` holds a backslash, LF, CR or colon: a loop over its code units, where a RegExp
 * test costs a call into the RegExp engine for each of the short values nearly every header has.
 * (A CR needs no escape in 1.1: the RegExp that escapes says so.)
 */
function hasSpecialOctet(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // Letters and digits, most of any value, are above the colon; the backslash is above them all but the lower case.
    if (unit > COLON ? unit === BACKSLASH : unit === COLON || unit === LF || unit === CR) return true;
  }
  return false;
}

/**
 * Reverses escapeHeader in one left-to-right pass, so `a\\c` on the wire is `a\c`, never `a\:`
 * (which a chain of replace() calls would produce).
 */
export function unescapeHeader(raw: string, version: StompVersion): string {
  if (version === '1.0') return raw;
  let backslash = raw.indexOf('\\');
  if (backslash === -1) return raw;
  const table = version === '1.2' ? UNESCAPE_12 : UNESCAPE_11;
  let out = '';
  let from = 0;
  while (backslash !== -1) {
    const next = raw[backslash + 1];
    const replacement = next === undefined ? undefined : table[next];
    if (replacement === undefined) {
      const shown = next === undefined ? 'a trailing backslash' : `'\\${next}'`;
      throw new StompRtcError(
        'INVALID_ESCAPE',
        `header ${preview(raw)} uses ${shown}, which STOMP ${version} does not define`,
      );
    }
    out += raw.slice(from, backslash) + replacement;
    from = backslash + 2;
    backslash = raw.indexOf('\\', from);
  }
  return out + raw.slice(from);
}

function preview(raw: string): string {
  return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
}
