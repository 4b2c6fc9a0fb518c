/**
 * The stomprtc message envelope (docs/client-envelope.md). Every message between two stomprtc
 * clients travels in one, on the data channel and on the relay alike, so the receiver can order,
 * de-duplicate and acknowledge whatever path it came by.
 *
 * Text frame:   "SRTC1 " + JSON header + "\n" + payload (UTF-8 text, or base64 when e = "b")
 * Binary frame: 53 52 54 43 01 | u16 header length (big endian) | JSON header | payload bytes
 *
 * The relay carries only text frames (SockJS delivers text only); the data channel carries a
 * text frame for a text payload and a binary frame for a byte payload.
 */

/** Random id of one Room instance of one client; survives signaling reconnects. */
export type ClientId = string;

export interface DataEnvelope {
  readonly kind: 'data';
  readonly from: ClientId;
  /** Message id, the same for every receiver and every chunk of one send(). */
  readonly id: string;
  /** Sequence number per sender per receiver, from 1, one per envelope (chunk). */
  readonly seq: number;
  /** Present when the message is split: this envelope's chunk index and the chunk count. */
  readonly chunk?: { readonly index: number; readonly count: number };
  /** The reassembled message is bytes (true) or a string (false). */
  readonly binary: boolean;
  /** Piggybacked cumulative ack for the reverse stream. */
  readonly ack?: number;
  /** A string only for an unsplit string message; otherwise bytes (chunk of UTF-8 for text). */
  readonly payload: string | Uint8Array;
}
export interface AckEnvelope { readonly kind: 'ack'; readonly from: ClientId; readonly ack: number }
/**
 * Announces the sender's client id; knowsYou = false asks for a hello back. noWebrtc: the sender
 * makes no peer connections (relay-only by choice, or no WebRTC implementation), so the receiver
 * settles its link on the relay at once instead of waiting for ICE to time out.
 */
export interface HelloEnvelope {
  readonly kind: 'hello';
  readonly from: ClientId;
  readonly knowsYou: boolean;
  readonly noWebrtc?: 'relay-only' | 'unsupported';
}
/** The sender leaves the room for good (no rejoin grace). */
export interface ByeEnvelope { readonly kind: 'bye'; readonly from: ClientId }

export type Envelope = DataEnvelope | AckEnvelope | HelloEnvelope | ByeEnvelope;

const TEXT_MAGIC = 'SRTC1 ';
const BINARY_MAGIC = [0x53, 0x52, 0x54, 0x43, 0x01] as const;
const BINARY_PREFIX_BYTES = BINARY_MAGIC.length + 2;

type KindCode = 'd' | 'a' | 'h' | 'b';
interface WireHeader {
  k: KindCode; c: string; i?: string; s?: number; n?: [number, number];
  b?: 0 | 1; a?: number; r?: 0 | 1; e?: 'u' | 'b';
  /** Hello only: 1 = relay-only by choice, 2 = no WebRTC implementation. */
  o?: 1 | 2;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function toWire(env: Envelope): WireHeader {
  switch (env.kind) {
    case 'data': {
      const h: WireHeader = { k: 'd', c: env.from, i: env.id, s: env.seq, b: env.binary ? 1 : 0 };
      if (env.chunk) h.n = [env.chunk.index, env.chunk.count];
      if (env.ack !== undefined) h.a = env.ack;
      return h;
    }
    case 'ack': return { k: 'a', c: env.from, a: env.ack };
    case 'hello': {
      const h: WireHeader = { k: 'h', c: env.from, r: env.knowsYou ? 1 : 0 };
      if (env.noWebrtc) h.o = env.noWebrtc === 'relay-only' ? 1 : 2;
      return h;
    }
    case 'bye': return { k: 'b', c: env.from };
  }
}

function payloadOf(env: Envelope): string | Uint8Array {
  return env.kind === 'data' ? env.payload : '';
}

/** For the data channel: text frame for text payloads, binary frame for byte payloads. */
export function encodeForChannel(env: Envelope): string | Uint8Array {
  const payload = payloadOf(env);
  if (typeof payload === 'string') return TEXT_MAGIC + JSON.stringify(toWire(env)) + '\n' + payload;
  const header = encoder.encode(JSON.stringify(toWire(env)));
  const out = new Uint8Array(BINARY_PREFIX_BYTES + header.length + payload.length);
  out.set(BINARY_MAGIC, 0);
  out[5] = header.length >> 8;
  out[6] = header.length & 0xff;
  out.set(header, BINARY_PREFIX_BYTES);
  out.set(payload, BINARY_PREFIX_BYTES + header.length);
  return out;
}

/** For the relay: always a text frame, bytes in base64. */
export function encodeForRelay(env: Envelope): string {
  const payload = payloadOf(env);
  const header = toWire(env);
  if (typeof payload === 'string') return TEXT_MAGIC + JSON.stringify(header) + '\n' + payload;
  header.e = 'b';
  return TEXT_MAGIC + JSON.stringify(header) + '\n' + bytesToBase64(payload);
}

/** True when the data starts like a stomprtc envelope (used to tell plain peers' data apart). */
export function looksLikeEnvelope(data: string | Uint8Array): boolean {
  if (typeof data === 'string') return data.startsWith(TEXT_MAGIC);
  return data.length >= BINARY_PREFIX_BYTES && BINARY_MAGIC.every((b, i) => data[i] === b);
}

/** Decodes a frame from either path; undefined when it is not a valid envelope. */
export function decodeEnvelope(data: string | Uint8Array): Envelope | undefined {
  if (!looksLikeEnvelope(data)) return undefined;
  try {
    if (typeof data === 'string') {
      const nl = data.indexOf('\n', TEXT_MAGIC.length);
      if (nl < 0) return undefined;
      const header = JSON.parse(data.slice(TEXT_MAGIC.length, nl)) as WireHeader;
      const text = data.slice(nl + 1);
      return fromWire(header, header.e === 'b' ? base64ToBytes(text) : text);
    }
    const len = (data[5]! << 8) | data[6]!;
    const header = JSON.parse(decoder.decode(data.subarray(BINARY_PREFIX_BYTES, BINARY_PREFIX_BYTES + len))) as WireHeader;
    return fromWire(header, data.slice(BINARY_PREFIX_BYTES + len));
  } catch {
    return undefined;
  }
}

function fromWire(h: WireHeader, payload: string | Uint8Array): Envelope | undefined {
  if (typeof h !== 'object' || h === null || typeof h.c !== 'string' || h.c.length === 0) return undefined;
  switch (h.k) {
    case 'd': {
      if (typeof h.i !== 'string' || !isSeq(h.s)) return undefined;
      let chunk: DataEnvelope['chunk'];
      if (h.n !== undefined) {
        const [index, count] = Array.isArray(h.n) ? h.n : [];
        if (!Number.isInteger(index) || !Number.isInteger(count) || index! < 0 || index! >= count!) return undefined;
        chunk = { index: index!, count: count! };
      }
      const env: DataEnvelope = {
        kind: 'data', from: h.c, id: h.i, seq: h.s, binary: h.b === 1, payload,
        ...(chunk ? { chunk } : {}),
        ...(isAck(h.a) ? { ack: h.a } : {}),
      };
      return env;
    }
    case 'a': return isAck(h.a) ? { kind: 'ack', from: h.c, ack: h.a } : undefined;
    case 'h': {
      const noWebrtc = h.o === 1 ? 'relay-only' : h.o === 2 ? 'unsupported' : undefined;
      return { kind: 'hello', from: h.c, knowsYou: h.r === 1, ...(noWebrtc ? { noWebrtc } : {}) };
    }
    case 'b': return { kind: 'bye', from: h.c };
    default: return undefined;
  }
}

function isSeq(n: unknown): n is number { return Number.isSafeInteger(n) && (n as number) >= 1; }
function isAck(n: unknown): n is number { return Number.isSafeInteger(n) && (n as number) >= 0; }

// btoa/atob exist in browsers and in Node ≥ 16; they work on "binary strings".
const B64_SLICE = 0x8000;
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += B64_SLICE) {
    bin += String.fromCharCode(...bytes.subarray(i, i + B64_SLICE));
  }
  return btoa(bin);
}
export function base64ToBytes(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
