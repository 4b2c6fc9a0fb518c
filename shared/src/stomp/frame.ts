import { textDecoder, textEncoder } from '../text-codec.js';

/** A STOMP protocol version this project speaks. */
export type StompVersion = '1.0' | '1.1' | '1.2';

export const SUPPORTED_VERSIONS: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

/**
 * Header names and values, already unescaped. Built by createHeaders on a prototype that inherits
 * nothing, so a header named `__proto__` or `constructor` is just a header.
 */
export type StompHeaders = Record<string, string>;

export type ClientCommand =
  | 'CONNECT'
  | 'STOMP'
  | 'SEND'
  | 'SUBSCRIBE'
  | 'UNSUBSCRIBE'
  | 'ACK'
  | 'NACK'
  | 'BEGIN'
  | 'COMMIT'
  | 'ABORT'
  | 'DISCONNECT';
export type ServerCommand = 'CONNECTED' | 'MESSAGE' | 'RECEIPT' | 'ERROR';
export type StompCommand = ClientCommand | ServerCommand;

export interface StompFrame {
  readonly command: StompCommand;
  readonly headers: StompHeaders;
  /** Raw body bytes; empty when the frame has none. */
  readonly body: Uint8Array;
}

export const EMPTY_BODY: Uint8Array = new Uint8Array(0);

/**
 * Memory of its own, the codec's default for bodies and encoded frames: shared/ runs in browsers
 * too, so Node's pooled Buffer is the server's to pass in (server/src/body-memory.ts).
 */
export function ownBytes(length: number): Uint8Array {
  return new Uint8Array(length);
}

/**
 * The constructor of every headers object. Its prototype inherits nothing (not Object.prototype,
 * so `__proto__`, `constructor` or `toString` is just a header), as Object.create(null) would give,
 * but V8 keeps the objects it makes in fast mode, where Object.create(null) starts in dictionary
 * mode: every header read would be a hash lookup (Node's querystring does the same for its results).
 */
const HeaderTable = function HeaderTable() {} as unknown as new () => StompHeaders;
HeaderTable.prototype = Object.create(null) as StompHeaders;

export function createHeaders(entries?: Iterable<readonly [string, string]>): StompHeaders {
  const headers = new HeaderTable();
  if (entries) for (const [name, value] of entries) headers[name] = value;
  return headers;
}

export function frame(
  command: StompCommand,
  headers: Record<string, string> = {},
  body: Uint8Array | string = EMPTY_BODY,
): StompFrame {
  return {
    command,
    headers: createHeaders(Object.entries(headers)),
    body: typeof body === 'string' ? textEncoder.encode(body) : body,
  };
}

// Re-exported where the codec has always had them.
export { textEncoder, textDecoder };
