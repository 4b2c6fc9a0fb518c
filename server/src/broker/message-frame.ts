import { isUtf8 } from 'node:buffer';
import { createHeaders, textEncoder, type StompHeaders, type StompVersion } from '../../../shared/src/stomp/frame.js';
import { headerLines, type SelfEncodingFrame } from '../../../shared/src/stomp/frame-encoder.js';
import type { BrokerMessage, Subscription, SubscriptionLines } from './types.js';

const NUL = 0;

/** Encoded once per subscription, for its session's version, and kept on it (Subscription.lines). */
function linesOf(subscription: Subscription, version: StompVersion): SubscriptionLines {
  let lines = subscription.lines;
  if (lines?.version !== version) {
    const headers = createHeaders([
      ['destination', subscription.clientDestination],
      ['subscription', subscription.id],
    ]);
    const text = `MESSAGE\n${headerLines('MESSAGE', headers, version)}`;
    lines = { version, key: `${version}\n${text}`, bytes: Buffer.from(text) };
    subscription.lines = lines;
  }
  return lines;
}

/**
 * The user headers' lines of messages whose headers object is frozen: its maker reuses it for many
 * messages (a member's signals and relayed messages, signaling/), so they are encoded once, in
 * memory of their own (a slice of Node's Buffer pool would keep its whole 8 KiB slab as long as
 * the membership). STOMP 1.2 only, as nearly every session speaks it.
 */
const reusedLines = new WeakMap<StompHeaders, Uint8Array>();

function userLines(headers: StompHeaders, version: StompVersion): Uint8Array {
  if (version !== '1.2' || !Object.isFrozen(headers)) return Buffer.from(headerLines('MESSAGE', headers, version));
  let lines = reusedLines.get(headers);
  if (lines === undefined)
    reusedLines.set(headers, (lines = textEncoder.encode(headerLines('MESSAGE', headers, version))));
  return lines;
}

const MESSAGE_ID = 'message-id:';
const CONTENT_LENGTH = 'content-length:';
const LF = 0x0a;

/**
 * Writes `text`, known to be ASCII, at `at` and returns where it ends. The short pieces a delivery
 * writes of its own (header names, the message id, the content-length) are copied here rather than
 * joined into one string: V8 builds a joined string as a tree, which Buffer.byteLength and
 * Buffer.write each flatten in C++ (3.6 % of the server's CPU samples on signaling, in `perf`).
 */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** Octets of `content-length:<length>` and the blank line that ends the head. */
function lengthLineBytes(length: string): number {
  return CONTENT_LENGTH.length + length.length + 2;
}

/** `content-length:<length>` and the blank line that ends the head, at `at`; returns where they end. */
function writeLengthLine(out: Uint8Array, at: number, length: string): number {
  at = writeAscii(out, writeAscii(out, at, CONTENT_LENGTH), length);
  out[at] = LF;
  out[at + 1] = LF;
  return at + 2;
}

/** `message-id:<id>` at `at`; returns where it ends. Message ids are [0-9a-z-]. */
function writeMessageIdLine(out: Uint8Array, at: number, messageId: string): number {
  at = writeAscii(out, writeAscii(out, at, MESSAGE_ID), messageId);
  out[at] = LF;
  return at + 1;
}

/** Lines, then the delivery's own lines (ASCII), then the shared tail: one buffer, one copy of each. */
function assemble(lines: Buffer, own: string, tail: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(lines.length + own.length + tail.length);
  out.set(lines, 0);
  out.set(tail, writeAscii(out, lines.length, own));
  return out;
}

/**
 * What the deliveries of one message share. The tail (user headers, content-length, the blank
 * line, the body and the NUL) is encoded once per STOMP version. An auto-ack delivery carries the
 * message's own `message-id`, the same for every subscriber (the spec asks it to identify the
 * message, as ActiveMQ's does), so subscriptions with equal lines get the very same bytes: a
 * fan-out to N `sub-0` subscribers encodes one frame, as a plain `ws` broadcast sends one buffer.
 */
export class MessageEncoding {
  readonly message: BrokerMessage;
  readonly messageId: string;
  #tail12: Uint8Array | undefined;
  #tailOther: { version: StompVersion; bytes: Uint8Array } | undefined;
  /** Whole auto-ack frames by SubscriptionLines key: the first in fields (most messages have one), others in a map. */
  #firstKey: string | undefined;
  #firstFrame: Uint8Array | undefined;
  #otherFrames: Map<string, Uint8Array> | undefined;

  #textBody: boolean | undefined;

  constructor(message: BrokerMessage, messageId: string) {
    this.message = message;
    this.messageId = messageId;
  }

  /** Whether the body is UTF-8: checked at the first delivery, for all of them. */
  get textBody(): boolean {
    return (this.#textBody ??= isUtf8(this.message.body));
  }

  /** Throws TypeError when a header has no form in `version` (a line feed for STOMP 1.0). */
  tail(version: StompVersion): Uint8Array {
    if (version === '1.2') return (this.#tail12 ??= this.#encodeTail(version));
    if (this.#tailOther?.version !== version) this.#tailOther = { version, bytes: this.#encodeTail(version) };
    return this.#tailOther.bytes;
  }

  /** The whole MESSAGE of an auto-ack first delivery, shared by every subscription with these lines. */
  autoAckFrame(lines: SubscriptionLines): Uint8Array {
    if (lines.key === this.#firstKey) return this.#firstFrame!;
    if (this.#firstKey === undefined) {
      // Most messages have one delivery (a signal, a relayed chat line): one buffer, no shared tail.
      this.#firstKey = lines.key;
      this.#firstFrame = this.#encodeWhole(lines);
      return this.#firstFrame;
    }
    let bytes = this.#otherFrames?.get(lines.key);
    if (bytes !== undefined) return bytes;
    bytes = assemble(lines.bytes, `message-id:${this.messageId}\n`, this.tail(lines.version));
    (this.#otherFrames ??= new Map()).set(lines.key, bytes);
    return bytes;
  }

  #encodeTail(version: StompVersion): Uint8Array {
    const { headers, body } = this.message;
    const user = userLines(headers, version);
    const length = String(body.length);
    const tail = Buffer.allocUnsafe(user.length + lengthLineBytes(length) + body.length + 1);
    tail.set(user, 0);
    tail.set(body, writeLengthLine(tail, user.length, length));
    tail[tail.length - 1] = NUL;
    return tail;
  }

  /** Lines, the message-id line, user headers, content-length, body and NUL, written into one buffer. */
  #encodeWhole(lines: SubscriptionLines): Uint8Array {
    const { headers, body } = this.message;
    const user = userLines(headers, lines.version);
    const length = String(body.length);
    const idLine = MESSAGE_ID.length + this.messageId.length + 1;
    const out = Buffer.allocUnsafe(
      lines.bytes.length + idLine + user.length + lengthLineBytes(length) + body.length + 1,
    );
    out.set(lines.bytes, 0);
    const userAt = writeMessageIdLine(out, lines.bytes.length, this.messageId);
    out.set(user, userAt);
    out.set(body, writeLengthLine(out, userAt + user.length, length));
    out[out.length - 1] = NUL;
    return out;
  }
}

/**
 * The MESSAGE one subscription receives. "The MESSAGE frame SHOULD include a content-type header
 * if the SEND had one" and user-defined headers of the SEND are carried over (§MESSAGE). On the
 * wire it is the subscription's lines, the delivery's message-id (and ack, redelivered), then the
 * shared tail; `headers` is built only when something reads it. A delivery that is acknowledged
 * (or redelivered) has a message-id of its own, which is also its `ack` id.
 */
export class MessageFrame implements SelfEncodingFrame {
  readonly command = 'MESSAGE' as const;
  readonly #subscription: Subscription;
  readonly #encoding: MessageEncoding;
  readonly #messageId: string;
  readonly #redelivered: boolean;

  constructor(subscription: Subscription, encoding: MessageEncoding, messageId: string, redelivered: boolean) {
    this.#subscription = subscription;
    this.#encoding = encoding;
    this.#messageId = messageId;
    this.#redelivered = redelivered;
  }

  get body(): Uint8Array {
    return this.#encoding.message.body;
  }

  get textBody(): boolean {
    return this.#encoding.textBody;
  }

  get headers(): StompHeaders {
    const headers = createHeaders([
      ['destination', this.#subscription.clientDestination],
      ['subscription', this.#subscription.id],
      ['message-id', this.#messageId],
    ]);
    if (this.#subscription.ack !== 'auto') headers.ack = this.#messageId;
    if (this.#redelivered) headers.redelivered = 'true';
    for (const [name, value] of Object.entries(this.#encoding.message.headers)) headers[name] = value;
    return headers;
  }

  encode(version: StompVersion): Uint8Array {
    const lines = linesOf(this.#subscription, version);
    if (this.#subscription.ack === 'auto' && !this.#redelivered) return this.#encoding.autoAckFrame(lines);
    // Message ids are [0-9a-z-]: no escaping, one byte per character.
    let own = `message-id:${this.#messageId}\n`;
    if (this.#subscription.ack !== 'auto') own += `ack:${this.#messageId}\n`;
    if (this.#redelivered) own += 'redelivered:true\n';
    return assemble(lines.bytes, own, this.#encoding.tail(version));
  }
}
