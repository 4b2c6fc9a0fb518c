/**
 * What send() accepts and what a receiver gets back: a string stays a string, bytes (any
 * ArrayBufferView, an ArrayBuffer, a Blob) arrive as a Uint8Array, and any other JSON value
 * arrives parsed. Everything else is refused synchronously, before anything is queued, so a
 * message is never silently changed on the way (JSON.stringify would drop a function, turn a Map
 * into {} and NaN into null).
 */
import type { MessageMeta } from './chunker.js';
import { ClientError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What send() and sendTo() accept. */
export type MessageValue = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | JsonValue;

/** What a receiver gets: a string, a Uint8Array, or the parsed JSON value. */
export type ReceivedValue = string | Uint8Array | JsonValue;

export interface EncodedMessage extends MessageMeta {
  readonly data: string | Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Turns a value into what the envelope carries. Synchronous (and throwing INVALID_MESSAGE or
 * MESSAGE_TOO_LARGE at once) for all but a Blob, whose size is checked at once and whose bytes
 * are read asynchronously.
 */
export function encodeMessage(
  value: unknown,
  maxBytes: number,
  channel?: string,
): EncodedMessage | Promise<EncodedMessage> {
  if (channel !== undefined && (typeof channel !== 'string' || channel.length === 0 || channel.length > 64)) {
    throw new ClientError('INVALID_MESSAGE', 'a channel name is a string of 1 to 64 characters');
  }
  const meta = channel !== undefined ? { channel } : {};
  if (typeof value === 'string') return { ...meta, data: checkSize(value, encoder.encode(value).length, maxBytes) };
  if (value instanceof Uint8Array) return { ...meta, data: checkSize(value, value.byteLength, maxBytes) };
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { ...meta, data: checkSize(bytes, value.byteLength, maxBytes) };
  }
  if (value instanceof ArrayBuffer) {
    return { ...meta, data: checkSize(new Uint8Array(value), value.byteLength, maxBytes) };
  }
  if (typeof Blob === 'function' && value instanceof Blob) {
    checkSize(value, value.size, maxBytes);
    return value.arrayBuffer().then((buffer) => ({ ...meta, data: new Uint8Array(buffer) }));
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value, strictJson);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError('INVALID_MESSAGE', `send() cannot carry this value: ${(err as Error).message}`);
  }
  if (text === undefined) throw new ClientError('INVALID_MESSAGE', `send() cannot carry ${describe(value)}`);
  return { ...meta, json: true, data: checkSize(text, encoder.encode(text).length, maxBytes) };
}

/** The value back from a delivered message's data and its JSON flag. */
export function decodeMessage(data: string | Uint8Array, json: boolean): ReceivedValue {
  if (!json || typeof data !== 'string') return data;
  return JSON.parse(data) as JsonValue;
}

function checkSize<T>(value: T, bytes: number, maxBytes: number): T {
  if (bytes > maxBytes) {
    throw new ClientError('MESSAGE_TOO_LARGE', `the message is ${bytes} bytes; maxMessageBytes is ${maxBytes}`);
  }
  return value;
}

/** A JSON.stringify replacer that refuses whatever would not come back as it was. */
function strictJson(this: unknown, key: string, value: unknown): unknown {
  const where = key === '' ? '' : ` at key ${JSON.stringify(key)}`;
  switch (typeof value) {
    case 'undefined':
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new ClientError('INVALID_MESSAGE', `send() cannot carry ${describe(value)}${where}`);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ClientError('INVALID_MESSAGE', `send() cannot carry ${value}${where} (JSON has no such number)`);
      }
      return value;
    case 'object': {
      if (value === null || Array.isArray(value)) return value;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new ClientError(
          'INVALID_MESSAGE',
          `send() cannot carry ${describe(value)}${where}; send bytes at the top level, or plain objects and arrays`,
        );
      }
      return value;
    }
    default:
      return value;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    return `a ${value.constructor?.name ?? 'null-prototype object'}`;
  }
  switch (typeof value) {
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'bigint':
      return 'a BigInt';
    default:
      return String(value);
  }
}
