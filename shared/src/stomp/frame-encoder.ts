import { STOMP_COMMANDS, UNESCAPED_COMMANDS } from './commands.js';
import { ownBytes, textEncoder } from './frame.js';
import { utf8Length } from '../text-codec.js';
import type { StompFrame, StompHeaders, StompVersion } from './frame.js';
import { escapeHeader } from './header-escape.js';
import { KNOWN_HEADER_NAMES } from './header-names.js';

/** A heart-beat: "a single end-of-line (EOL)" (§Heart-beating). Shared; do not write into it. */
export const HEARTBEAT_EOL: Uint8Array = Uint8Array.of(0x0a);
const NUL = 0x00;

/**
 * A frame that encodes itself: a fan-out's MESSAGE shares its user headers and body with every
 * sibling, encodes that part once and adds only its own first lines (server/src/broker/message-frame.ts).
 */
export interface SelfEncodingFrame extends StompFrame {
  encode(version: StompVersion): Uint8Array;
  /** Whether the body is UTF-8, known once for every sibling. */
  readonly textBody?: boolean;
}

function isSelfEncoding(frame: StompFrame): frame is SelfEncodingFrame {
  return typeof (frame as Partial<SelfEncodingFrame>).encode === 'function';
}

/**
 * Serialises a frame for a peer speaking `version`. Every frame that may carry a body (and any
 * frame that has one or names a content-length) gets the true `content-length`, so bodies may hold
 * NUL octets ("frames SHOULD include a content-length header", §Header content-length).
 * Throws TypeError for a header that the version cannot represent. `allocate` gives the memory the
 * frame is written into, whole; the server passes Node's pooled Buffer.allocUnsafe
 * (server/src/body-memory.ts), as its decoders do.
 */
export function encodeFrame(
  frame: StompFrame,
  version: StompVersion,
  allocate: (length: number) => Uint8Array = ownBytes,
): Uint8Array {
  if (isSelfEncoding(frame)) return frame.encode(version);
  const { command, headers, body } = frame;
  const rule = STOMP_COMMANDS[command];
  if (rule === undefined) throw new TypeError(`cannot encode unknown STOMP command ${JSON.stringify(command)}`);
  const sized = rule.bodyAllowed || body.length > 0 || headers['content-length'] !== undefined;
  let head = `${command}\n${headerLines(command, headers, version)}`;
  if (sized) head += `content-length:${body.length}\n`;
  head += '\n';

  // One piece of memory, the head encoded straight into it: not an encoded head copied over.
  const headLength = utf8Length(head);
  const out = allocate(headLength + body.length + 1);
  textEncoder.encodeInto(head, out);
  out.set(body, headLength);
  out[headLength + body.length] = NUL;
  return out;
}

/**
 * The `name:value` lines of a frame's headers (content-length left out: the encoder writes the
 * true one), escaped as `version` and `command` require. Throws TypeError for a header the version
 * cannot represent.
 */
export function headerLines(command: string, headers: StompHeaders, version: StompVersion): string {
  // "CONNECT and CONNECTED frames do not escape the carriage return, line feed or colon octets" (§Value Encoding).
  const raw = version === '1.0' || UNESCAPED_COMMANDS.has(command as never);
  let lines = '';
  for (const name of Object.keys(headers)) {
    if (name === 'content-length') continue;
    const value = headers[name] as string;
    if (raw) {
      checkRepresentable(command, version, name, value);
      lines += `${name}:${value}\n`;
    } else {
      const wireName = KNOWN_HEADER_NAMES.has(name) ? name : escapeHeader(name, version);
      lines += `${wireName}:${escapeHeader(value, version)}\n`;
    }
  }
  return lines;
}

function checkRepresentable(command: string, version: StompVersion, name: string, value: string): void {
  const where = UNESCAPED_COMMANDS.has(command as never) ? `a ${command} frame` : `STOMP ${version}`;
  if (name.includes(':') || name.includes('\n')) {
    throw new TypeError(
      `header name ${JSON.stringify(name)} cannot be sent in ${where}: it holds ':' or a line feed, which are not escaped there`,
    );
  }
  if (value.includes('\n')) {
    throw new TypeError(
      `value of header '${name}' cannot be sent in ${where}: it holds a line feed, which is not escaped there`,
    );
  }
}

/**
 * Whether a (non-CONNECT) frame with these headers can be put on a `version` wire: STOMP 1.0
 * escapes nothing, so it cannot carry a line feed in a value nor a ':' or line feed in a name.
 */
export function headersFit(headers: StompHeaders, version: StompVersion): boolean {
  if (version !== '1.0') return true;
  for (const name of Object.keys(headers)) {
    if (name.includes(':') || name.includes('\n') || (headers[name] as string).includes('\n')) return false;
  }
  return true;
}
