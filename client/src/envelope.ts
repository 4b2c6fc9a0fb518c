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
  /** Incarnation of the sender's sequence space toward this receiver, from 1. A sender that gave
   * up on a receiver (and reported what it had not acknowledged as undelivered) starts the next
   * conversation with it under a higher epoch, so a fresh sequence space never collides with the
   * old one. */
  readonly epoch: number;
  /** Sequence number per sender per receiver per epoch, from 1, one per envelope (chunk). */
  readonly seq: number;
  /** Present when the message is split: this envelope's chunk index and the chunk count. */
  readonly chunk?: { readonly index: number; readonly count: number };
  /** The reassembled message is bytes (true) or a string (false). */
  readonly binary: boolean;
  /** The string is a JSON value's text, to be parsed on delivery (wire `b: 2`). */
  readonly json?: boolean;
  /** Named channel of the message (wire `t`), when the sender gave one. */
  readonly channel?: string;
  /** Piggybacked cumulative ack for the reverse stream, and that stream's epoch. */
  readonly ack?: number;
  readonly ackEpoch?: number;
  /** A string only for an unsplit string message; otherwise bytes (chunk of UTF-8 for text). */
  readonly payload: string | Uint8Array;
}
/** Cumulative ack of the reverse stream's epoch: every envelope up to seq `ack` has arrived. */
export interface AckEnvelope {
  readonly kind: 'ack';
  readonly from: ClientId;
  readonly epoch: number;
  readonly ack: number;
}
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
  /** The sender's ephemeral public keys (e2e.ts): X25519 when its runtime has it, P-256. */
  readonly keys?: { readonly x?: string; readonly p?: string };
  /** Key confirmation for the receiver: proves the sender derived the same pair keys. */
  readonly confirm?: string;
}
/** The sender leaves the room for good (no rejoin grace). */
export interface ByeEnvelope {
  readonly kind: 'bye';
  readonly from: ClientId;
}

export type Envelope = DataEnvelope | AckEnvelope | HelloEnvelope | ByeEnvelope;

const TEXT_MAGIC = 'SRTC1 ';
const BINARY_MAGIC = [0x53, 0x52, 0x54, 0x43, 0x01] as const;
const BINARY_PREFIX_BYTES = BINARY_MAGIC.length + 2;

type KindCode = 'd' | 'a' | 'h' | 'b';
interface WireHeader {
  k: KindCode;
  c: string;
  i?: string;
  s?: number;
  n?: [number, number];
  b?: 0 | 1 | 2;
  a?: number;
  t?: string;
  r?: 0 | 1;
  e?: 'u' | 'b';
  /** Data: the epoch of `s`; ack: the epoch of `a`. Absent means 1 (envelopes before epochs). */
  x?: number;
  /** Data only: the epoch of the piggybacked `a`. */
  y?: number;
  /** Hello only: 1 = relay-only by choice, 2 = no WebRTC implementation. */
  o?: 1 | 2;
  /** Hello only: the sender's X25519 and P-256 public keys (raw, base64), and its key confirmation. */
  kx?: string;
  kp?: string;
  m?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function toWire(env: Envelope): WireHeader {
  switch (env.kind) {
    case 'data': {
      const b = env.binary ? 1 : env.json ? 2 : 0;
      const h: WireHeader = { k: 'd', c: env.from, i: env.id, x: env.epoch, s: env.seq, b };
      if (env.channel !== undefined) h.t = env.channel;
      if (env.chunk) h.n = [env.chunk.index, env.chunk.count];
      if (env.ack !== undefined) {
        h.a = env.ack;
        h.y = env.ackEpoch ?? 1;
      }
      return h;
    }
    case 'ack':
      return { k: 'a', c: env.from, x: env.epoch, a: env.ack };
    case 'hello': {
      const h: WireHeader = { k: 'h', c: env.from, r: env.knowsYou ? 1 : 0 };
      if (env.noWebrtc) h.o = env.noWebrtc === 'relay-only' ? 1 : 2;
      if (env.keys?.x) h.kx = env.keys.x;
      if (env.keys?.p) h.kp = env.keys.p;
      if (env.confirm) h.m = env.confirm;
      return h;
    }
    case 'bye':
      return { k: 'b', c: env.from };
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

/**
 * True when the data starts like a stomprtc envelope (used to tell plain peers' data apart).
 * @internal exported for test/client/envelope.test.ts
 */
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
    const header = JSON.parse(
      decoder.decode(data.subarray(BINARY_PREFIX_BYTES, BINARY_PREFIX_BYTES + len)),
    ) as WireHeader;
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
        kind: 'data',
        from: h.c,
        id: h.i,
        epoch: epochOf(h.x),
        seq: h.s,
        binary: h.b === 1,
        payload,
        ...(h.b === 2 ? { json: true } : {}),
        ...(typeof h.t === 'string' ? { channel: h.t } : {}),
        ...(chunk ? { chunk } : {}),
        ...(isAck(h.a) ? { ack: h.a, ackEpoch: epochOf(h.y) } : {}),
      };
      return env.epoch > 0 && env.ackEpoch !== 0 ? env : undefined;
    }
    case 'a': {
      const epoch = epochOf(h.x);
      return isAck(h.a) && epoch > 0 ? { kind: 'ack', from: h.c, epoch, ack: h.a } : undefined;
    }
    case 'h': {
      const noWebrtc = h.o === 1 ? 'relay-only' : h.o === 2 ? 'unsupported' : undefined;
      const keys = {
        ...(typeof h.kx === 'string' ? { x: h.kx } : {}),
        ...(typeof h.kp === 'string' ? { p: h.kp } : {}),
      };
      return {
        kind: 'hello',
        from: h.c,
        knowsYou: h.r === 1,
        ...(noWebrtc ? { noWebrtc } : {}),
        ...(keys.x || keys.p ? { keys } : {}),
        ...(typeof h.m === 'string' ? { confirm: h.m } : {}),
      };
    }
    case 'b':
      return { kind: 'bye', from: h.c };
    default:
      return undefined;
  }
}

/** 0 (invalid) for anything but a positive safe integer; an absent epoch is 1. */
function epochOf(x: unknown): number {
  return x === undefined ? 1 : isSeq(x) ? x : 0;
}
function isSeq(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 1;
}
function isAck(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

// btoa/atob exist in browsers and in Node ≥ 16; they work on "binary strings".
const B64_SLICE = 0x8000;
function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += B64_SLICE) {
    bin += String.fromCharCode(...bytes.subarray(i, i + B64_SLICE));
  }
  return btoa(bin);
}
function base64ToBytes(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
