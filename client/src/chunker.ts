/**
 * Splits a message into payloads no larger than a chunk, and reassembles them. A string that fits
 * in one chunk stays a string (readable on the relay); anything else travels as bytes.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a message is besides its bytes: its JSON flag and channel travel in every envelope of it. */
export interface MessageMeta {
  /** The text is a JSON value (send() of anything but a string or bytes); the receiver parses it. */
  readonly json?: boolean;
  /** The named channel it was sent on (Room.send's `channel` option). */
  readonly channel?: string;
}

export interface SplitMessage extends MessageMeta {
  readonly binary: boolean;
  /** One entry per envelope; a lone string entry means an unsplit text message. */
  readonly parts: ReadonlyArray<string | Uint8Array>;
  readonly bytes: number;
}

export function splitMessage(data: string | Uint8Array, chunkBytes: number, meta: MessageMeta = {}): SplitMessage {
  if (chunkBytes < 1) throw new RangeError('chunkBytes must be positive');
  const binary = typeof data !== 'string';
  const bytes = binary ? data : encoder.encode(data);
  if (!binary && bytes.length <= chunkBytes) return { ...meta, binary, parts: [data], bytes: bytes.length };
  const parts: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += chunkBytes) parts.push(bytes.slice(off, off + chunkBytes));
  if (parts.length === 0) parts.push(new Uint8Array(0));
  return { ...meta, binary, parts, bytes: bytes.length };
}

/** Joins chunk payloads (in index order) back into the message. */
export function joinChunks(parts: ReadonlyArray<string | Uint8Array>, binary: boolean): string | Uint8Array {
  if (parts.length === 1 && typeof parts[0] === 'string') return binary ? encoder.encode(parts[0]) : parts[0];
  const byteParts = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const total = byteParts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of byteParts) {
    out.set(p, off);
    off += p.length;
  }
  return binary ? out : decoder.decode(out);
}
