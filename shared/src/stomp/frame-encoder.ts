import { STOMP_COMMANDS, UNESCAPED_COMMANDS } from './commands.js';
import { textEncoder } from './frame.js';
import type { StompFrame, StompVersion } from './frame.js';
import { escapeHeader } from './header-escape.js';

/** A heart-beat: "a single end-of-line (EOL)" (§Heart-beating). Shared; do not write into it. */
export const HEARTBEAT_EOL: Uint8Array = Uint8Array.of(0x0a);

/**
 * Serialises a frame for a peer speaking `version`. Every frame that may carry a body (and any
 * frame that has one or names a content-length) gets the true `content-length`, so bodies may hold
 * NUL octets ("frames SHOULD include a content-length header", §Header content-length).
 * Throws TypeError for a header that the version cannot represent.
 */
export function encodeFrame(frame: StompFrame, version: StompVersion): Uint8Array {
  const { command, headers, body } = frame;
  const rule = STOMP_COMMANDS[command];
  if (rule === undefined) throw new TypeError(`cannot encode unknown STOMP command ${JSON.stringify(command)}`);
  // "CONNECT and CONNECTED frames do not escape the carriage return, line feed or colon octets" (§Value Encoding).
  const raw = version === '1.0' || UNESCAPED_COMMANDS.has(command);
  const sized = rule.bodyAllowed || body.length > 0 || headers['content-length'] !== undefined;

  let head = `${command}\n`;
  for (const name of Object.keys(headers)) {
    if (name === 'content-length') continue;
    const value = headers[name] as string;
    if (raw) {
      checkRepresentable(command, version, name, value);
      head += `${name}:${value}\n`;
    } else {
      head += `${escapeHeader(name, version)}:${escapeHeader(value, version)}\n`;
    }
  }
  if (sized) head += `content-length:${body.length}\n`;
  head += '\n';

  const headBytes = textEncoder.encode(head);
  const out = new Uint8Array(headBytes.length + body.length + 1);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

function checkRepresentable(command: string, version: StompVersion, name: string, value: string): void {
  const where = UNESCAPED_COMMANDS.has(command as never) ? `a ${command} frame` : `STOMP ${version}`;
  if (name.includes(':') || name.includes('\n')) {
    throw new TypeError(`header name ${JSON.stringify(name)} cannot be sent in ${where}: it holds ':' or a line feed, which are not escaped there`);
  }
  if (value.includes('\n')) {
    throw new TypeError(`value of header '${name}' cannot be sent in ${where}: it holds a line feed, which is not escaped there`);
  }
}
