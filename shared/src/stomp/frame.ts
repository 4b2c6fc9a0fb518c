import { textDecoder, textEncoder } from '../text-codec.js';

/** A STOMP protocol version this project speaks. */
export type StompVersion = '1.0' | '1.1' | '1.2';

export const SUPPORTED_VERSIONS: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

/**
 * Header names and values, already unescaped. Built on a null prototype so a header named
 * `__proto__` or `constructor` is just a header.
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

export function createHeaders(entries?: Iterable<readonly [string, string]>): StompHeaders {
  const headers = Object.create(null) as StompHeaders;
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
