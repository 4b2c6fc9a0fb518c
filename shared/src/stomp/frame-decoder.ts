import { StompRtcError } from '../errors.js';
import { canonicalCommand, UNESCAPED_COMMANDS } from './commands.js';
import { createHeaders, ownBytes, textDecoder } from './frame.js';
import { KNOWN_HEADER_NAMES } from './header-names.js';
import type { StompCommand, StompFrame, StompHeaders, StompVersion } from './frame.js';
import { unescapeHeader } from './header-escape.js';
import { DEFAULT_DECODER_LIMITS } from './limits.js';
import type { DecoderLimits } from './limits.js';

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
/** The first octet that is not ASCII. */
const NON_ASCII = 0x80;
const DECIMAL = /^[0-9]+$/;
/**
 * Where #readHead notes each line's end and first colon: shared by every decoder, as a head is read
 * in one synchronous call that runs no callback. A head of more lines is left to #readLine.
 */
const HEAD_LINES = 128;
const lineEnds = new Int32Array(HEAD_LINES);
const lineColons = new Int32Array(HEAD_LINES);
/**
 * What a decoder between frames holds instead of headers and a sized body of its own: a server
 * keeps one decoder per session, most of them idle. Never handed out, never written to (every frame
 * gets fresh ones at its command line and its content-length).
 */
const NO_HEADERS: StompHeaders = Object.freeze(createHeaders());
const NO_BODY = new Uint8Array(0);

/**
 * chunk[from, to) as a plain Uint8Array view. Not chunk.subarray(): on a Node Buffer (what ws
 * hands over) that is Buffer's own subarray, written in JavaScript, which cost more than the
 * lookup of a header in the decoder's profile.
 */
function viewOf(chunk: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset + from, to - from);
}

/**
 * Where the decoder is within the byte stream:
 * - `between-frames`: after a NUL or at the start; a lone LF here is a heart-beat.
 * - `command`: reading the command line (an empty line, i.e. CRLF, is a heart-beat too).
 * - `headers`: reading header lines up to the blank line.
 * - `sized-body`: reading exactly content-length octets.
 * - `after-sized-body`: the octet after a sized body, which must be the NUL.
 * - `body`: no content-length; the body runs to the first NUL.
 * - `dead`: a push threw; the stream can no longer be trusted.
 */
type DecoderState = 'between-frames' | 'command' | 'headers' | 'sized-body' | 'after-sized-body' | 'body' | 'dead';

export interface FrameDecoderOptions {
  limits?: DecoderLimits;
  /** Escaping rules for header lines; the server starts at 1.0 and sets the negotiated version after CONNECT. @default '1.2' */
  version?: StompVersion;
  /**
   * Where each body is put that is not handed out as a view (see viewBodies): memory the decoder
   * fills whole before the frame is emitted. The server passes Node's pooled Buffer.allocUnsafe
   * (server/src/body-memory.ts).
   * @default a Uint8Array of its own
   */
  allocate?: (length: number) => Uint8Array;
  /**
   * A body that lies whole in the chunk being pushed is handed out as a view of that chunk, not
   * copied. Only for a caller that never reuses a chunk it pushed, and that copies any body it
   * keeps past the frame's handling: a view holds the whole chunk. The server's sessions do
   * (ws hands each message in memory of its own; server/src/body-memory.ts retained()). A body
   * split across chunks is put together in memory from `allocate`.
   * @default false
   */
  viewBodies?: boolean;
}

/**
 * Turns a stream of byte chunks into STOMP frames. Chunks may split a frame at any octet and may
 * pack many frames; each limit is checked at the first octet where it can be broken.
 * Errors are StompRtcError with a catalogue code; after one, every push throws (a framing error
 * leaves no trustworthy frame boundary to resume from). An exception thrown by onFrame or
 * onHeartbeat also propagates out of push and stops the decoder.
 */
export class FrameDecoder {
  #limits: DecoderLimits;
  #version: StompVersion;
  #state: DecoderState = 'between-frames';
  #failure: StompRtcError | undefined;

  /** Octets of the current frame consumed so far, from the command line's first octet. */
  #frameBytes = 0;
  /** Unterminated line (or NUL-terminated body) carried over from earlier chunks, as copies. */
  #parts: Uint8Array[] | undefined;
  #partsLength = 0;
  #lastPartByte = -1;

  #command: StompCommand = 'SEND';
  #frameVersion: StompVersion = '1.2';
  #headers: StompHeaders = NO_HEADERS;
  #headerCount = 0;
  /** The body being read, or NO_BODY while a body that may be viewed has not been reached yet. */
  #sizedBody: Uint8Array = NO_BODY;
  #sizedLength = 0;
  #sizedBodyFilled = 0;

  readonly #onFrame: (frame: StompFrame) => void;
  readonly #onHeartbeat: (() => void) | undefined;
  readonly #allocate: (length: number) => Uint8Array;
  readonly #viewBodies: boolean;

  constructor(options: FrameDecoderOptions, onFrame: (frame: StompFrame) => void, onHeartbeat?: () => void) {
    this.#onFrame = onFrame;
    this.#onHeartbeat = onHeartbeat;
    this.#limits = options.limits ?? DEFAULT_DECODER_LIMITS;
    this.#version = options.version ?? '1.2';
    this.#allocate = options.allocate ?? ownBytes;
    this.#viewBodies = options.viewBodies ?? false;
  }

  /** Escaping follows the new version from the next frame on (a frame in progress keeps its own). */
  setVersion(version: StompVersion): void {
    this.#version = version;
  }

  /** Takes effect at once, including for a frame in progress. */
  setLimits(limits: DecoderLimits): void {
    this.#limits = limits;
  }

  /** True when no frame is part-way decoded: the next octet starts a frame (or a heart-beat). */
  get betweenFrames(): boolean {
    return this.#state === 'between-frames';
  }

  push(chunk: Uint8Array): void {
    if (this.#failure) {
      throw new StompRtcError(this.#failure.code, `decoder stopped by an earlier error: ${this.#failure.message}`);
    }
    try {
      this.#consume(chunk);
    } catch (err) {
      this.#state = 'dead';
      this.#parts = undefined;
      this.#failure =
        err instanceof StompRtcError
          ? err
          : new StompRtcError(
              'MALFORMED_FRAME',
              `frame handler failed: ${err instanceof Error ? err.message : String(err)}`,
            );
      throw err;
    }
  }

  #consume(chunk: Uint8Array): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.#state) {
        case 'between-frames':
          // "The NULL octet can be optionally followed by multiple EOLs" and "the sender MUST
          // send new data over the network connection at least every <n> milliseconds" (§Heart-beating).
          if (chunk[pos] === LF) {
            pos++;
            this.#onHeartbeat?.();
          } else {
            this.#state = 'command';
            this.#frameBytes = 0;
            this.#frameVersion = this.#version;
          }
          break;
        case 'command': {
          const after = this.#parts === undefined ? this.#readHead(chunk, pos) : -1;
          pos = after !== -1 ? after : this.#readLine(chunk, pos);
          break;
        }
        case 'headers':
          pos = this.#readLine(chunk, pos);
          break;
        case 'sized-body':
          pos = this.#readSizedBody(chunk, pos);
          break;
        case 'after-sized-body':
          if (chunk[pos] !== NUL) {
            throw new StompRtcError(
              'MALFORMED_FRAME',
              `${this.#command} body of content-length ${this.#sizedLength} is not followed by a NUL octet`,
            );
          }
          pos++;
          this.#frameBytes++;
          this.#emit(this.#sizedBody);
          break;
        case 'body':
          pos = this.#readBodyToNul(chunk, pos);
          break;
        case 'dead':
          throw new StompRtcError('MALFORMED_FRAME', 'decoder is stopped');
      }
    }
  }

  /**
   * The command and header lines at once, when the chunk holds the whole head and it is plain
   * (ASCII, LF line ends, no NUL), as nearly every frame's is. One pass over the octets finds the
   * line ends and colons and whether any backslash needs unescaping; the head is then decoded once
   * and cut into names and values, with no search of the text. Each line passes the same checks, in
   * the same order, as in #readLine. Returns the position after the blank line, or -1 to leave the
   * head to #readLine.
   */
  #readHead(chunk: Uint8Array, pos: number): number {
    let lines = 0;
    let lineStart = pos;
    let colon = -1;
    let backslash = false;
    const chunkEnd = chunk.length;
    let at = pos;
    for (; ; at++) {
      if (at === chunkEnd) return -1;
      const octet = chunk[at]!;
      // Most octets of a head are letters, above every octet tested below but the non-ASCII.
      if (octet > BACKSLASH) {
        if (octet >= NON_ASCII) return -1;
      } else if (octet === LF) {
        if (at === lineStart) break;
        if (lines === HEAD_LINES) return -1;
        lineEnds[lines] = at - pos;
        lineColons[lines++] = colon === -1 ? -1 : colon - pos;
        lineStart = at + 1;
        colon = -1;
      } else if (octet === COLON) {
        if (colon === -1) colon = at;
      } else if (octet === BACKSLASH) {
        backslash = true;
      } else if (octet === NUL || octet === CR) {
        return -1;
      }
    }
    const text = textDecoder.decode(viewOf(chunk, pos, at));
    let from = 0;
    for (let line = 0; line <= lines; line++) {
      // The blank line that ends the head comes last.
      const end = line < lines ? lineEnds[line]! : at - pos;
      this.#frameBytes += end - from + 1;
      if (end - from > this.#limits.maxHeaderLineBytes) this.#lineTooLong(end - from);
      this.#checkFrameSize();
      if (line === 0) this.#onCommandLine(text.slice(from, end));
      else if (line === lines) this.#startBody();
      else this.#onHeader(text, from, lineColons[line]!, end, backslash);
      from = end + 1;
    }
    return at + 1;
  }

  /** Reads up to the next LF; returns the position after it, or the chunk end if the line goes on. */
  #readLine(chunk: Uint8Array, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    this.#checkLineOctets(chunk.subarray(pos, lf === -1 ? chunk.length : lf));
    if (lf === -1) {
      const part = chunk.subarray(pos);
      this.#keep(part);
      this.#frameBytes += part.length;
      this.#checkOpenLine();
      return chunk.length;
    }
    const tail = chunk.subarray(pos, lf);
    this.#frameBytes += tail.length + 1;
    const line = this.#takeParts(tail);
    const length = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (length > this.#limits.maxHeaderLineBytes) this.#lineTooLong(length);
    this.#checkFrameSize();
    const text = textDecoder.decode(line.subarray(0, length));
    if (this.#state === 'command') this.#onCommandLine(text);
    else this.#onHeaderLine(text);
    return lf + 1;
  }

  /**
   * "frame lines to end with either carriage return + line feed or only line feed" (§Augmented
   * BNF): a CR followed by anything but LF ends no line, and a NUL ends a frame that has no
   * command yet. Either means the bytes are not a frame, and waiting for an LF that may never come
   * would leave the peer unanswered. In 1.0 and 1.1 header values a CR is an ordinary octet (and
   * the grammar lets a header value hold a NUL).
   */
  #checkLineOctets(segment: Uint8Array): void {
    const command = this.#state === 'command';
    const what = command ? 'command line' : `${this.#command} header line`;
    if (command || this.#frameVersion === '1.2') {
      const carriedCr = this.#partsLength > 0 && this.#lastPartByte === CR;
      const cr = segment.indexOf(CR);
      if ((carriedCr && segment.length > 0) || (cr !== -1 && cr < segment.length - 1)) {
        throw new StompRtcError(
          'MALFORMED_FRAME',
          `${what} has a CR octet not followed by LF: STOMP 1.2 ends lines with LF or CRLF`,
        );
      }
    }
    if (command && segment.indexOf(NUL) !== -1) {
      throw new StompRtcError('MALFORMED_FRAME', 'command line holds a NUL octet: the frame ends before its command');
    }
  }

  /** Fails as soon as an unterminated line can no longer fit, even if its EOL never comes. */
  #checkOpenLine(): void {
    const max = this.#limits.maxHeaderLineBytes;
    // One octet over is still fine when it is the CR of a CRLF.
    if (this.#partsLength > max + 1 || (this.#partsLength === max + 1 && this.#lastPartByte !== CR)) {
      this.#lineTooLong(this.#partsLength);
    }
    this.#checkFrameSize();
  }

  #lineTooLong(length: number): never {
    const what = this.#state === 'command' ? 'command line' : `${this.#command} header line`;
    throw new StompRtcError(
      'HEADER_TOO_LONG',
      `${what} of ${length}+ bytes is over the limit of ${this.#limits.maxHeaderLineBytes} bytes`,
    );
  }

  /** The frame still needs at least its NUL, so it is too large once consumed + 1 is over the limit. */
  #checkFrameSize(): void {
    if (this.#frameBytes + 1 > this.#limits.maxFrameBytes) {
      const what = this.#state === 'command' ? 'frame' : `${this.#command} frame`;
      throw new StompRtcError('FRAME_TOO_LARGE', `${what} is over the limit of ${this.#limits.maxFrameBytes} bytes`);
    }
  }

  #onCommandLine(text: string): void {
    if (text === '') {
      // A CRLF between frames: heart-beat, not the start of a frame.
      this.#state = 'between-frames';
      this.#onHeartbeat?.();
      return;
    }
    const command = canonicalCommand(text);
    if (command === undefined) {
      throw new StompRtcError(
        'UNKNOWN_COMMAND',
        `unknown command ${JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text)}`,
      );
    }
    this.#command = command;
    this.#headers = createHeaders();
    this.#headerCount = 0;
    this.#state = 'headers';
  }

  #onHeaderLine(text: string): void {
    if (text === '') this.#startBody();
    else this.#onHeader(text, 0, text.indexOf(':'), text.length, true);
  }

  /** The header line text[from, end), whose first colon is at `colon` (-1 for none). */
  #onHeader(text: string, from: number, colon: number, end: number, mayBeEscaped: boolean): void {
    if (++this.#headerCount > this.#limits.maxHeaders) {
      throw new StompRtcError(
        'TOO_MANY_HEADERS',
        `${this.#command} frame has more than ${this.#limits.maxHeaders} headers`,
      );
    }
    if (colon === -1) {
      throw new StompRtcError(
        'MALFORMED_FRAME',
        `${this.#command} header line ${JSON.stringify(text.slice(from, Math.min(end, from + 64)))} has no ':'`,
      );
    }
    // "CONNECT and CONNECTED frames do not escape the carriage return, line feed or colon octets" (§Value Encoding).
    const escaped = mayBeEscaped && !UNESCAPED_COMMANDS.has(this.#command);
    const rawName = text.slice(from, colon);
    const rawValue = text.slice(colon + 1, end);
    const decodedName = escaped ? unescapeHeader(rawName, this.#frameVersion) : rawName;
    // A header name is a property key: a known one as its constant string (see canonicalCommand).
    const name = KNOWN_HEADER_NAMES.get(decodedName) ?? decodedName;
    const value = escaped ? unescapeHeader(rawValue, this.#frameVersion) : rawValue;
    // "If a client or a server receives repeated frame header entries, only the first header
    // entry SHOULD be used as the value of header entry" (§Repeated Header Entries).
    if (!Object.prototype.hasOwnProperty.call(this.#headers, name)) this.#headers[name] = value;
  }

  #startBody(): void {
    const declared = this.#headers['content-length'];
    if (declared === undefined) {
      this.#state = 'body';
      return;
    }
    if (!DECIMAL.test(declared)) {
      throw new StompRtcError(
        'MALFORMED_FRAME',
        `${this.#command} content-length ${JSON.stringify(declared.slice(0, 32))} is not a non-negative decimal integer`,
      );
    }
    const length = Number(declared);
    // Refused before a single body octet is buffered.
    if (this.#frameBytes + length + 1 > this.#limits.maxFrameBytes) {
      throw new StompRtcError(
        'FRAME_TOO_LARGE',
        `${this.#command} content-length ${declared} makes the frame over the limit of ${this.#limits.maxFrameBytes} bytes`,
      );
    }
    this.#sizedLength = length;
    // A body to be viewed gets memory only if it turns out not to lie whole in one chunk.
    this.#sizedBody = this.#viewBodies ? NO_BODY : this.#allocate(length);
    this.#sizedBodyFilled = 0;
    this.#state = length > 0 ? 'sized-body' : 'after-sized-body';
  }

  #readSizedBody(chunk: Uint8Array, pos: number): number {
    if (this.#sizedBody === NO_BODY) {
      if (chunk.length - pos >= this.#sizedLength) {
        this.#sizedBody = viewOf(chunk, pos, pos + this.#sizedLength);
        this.#frameBytes += this.#sizedLength;
        this.#state = 'after-sized-body';
        return pos + this.#sizedLength;
      }
      this.#sizedBody = this.#allocate(this.#sizedLength);
    }
    const take = Math.min(this.#sizedLength - this.#sizedBodyFilled, chunk.length - pos);
    this.#sizedBody.set(viewOf(chunk, pos, pos + take), this.#sizedBodyFilled);
    this.#sizedBodyFilled += take;
    this.#frameBytes += take;
    if (this.#sizedBodyFilled === this.#sizedLength) this.#state = 'after-sized-body';
    return pos + take;
  }

  #readBodyToNul(chunk: Uint8Array, pos: number): number {
    const nul = chunk.indexOf(NUL, pos);
    if (nul === -1) {
      const part = chunk.subarray(pos);
      this.#keep(part);
      this.#frameBytes += part.length;
      this.#checkFrameSize();
      return chunk.length;
    }
    const tail = viewOf(chunk, pos, nul);
    this.#frameBytes += tail.length;
    this.#checkFrameSize();
    this.#frameBytes++;
    const body = this.#takeParts(tail, !this.#viewBodies);
    this.#emit(body);
    return nul + 1;
  }

  /** Keeps a copy: the caller may reuse its chunk once push returns. */
  #keep(part: Uint8Array): void {
    if (part.length === 0) return;
    (this.#parts ??= []).push(this.#copyOf(part));
    this.#partsLength += part.length;
    this.#lastPartByte = part[part.length - 1] ?? -1;
  }

  /**
   * The carried-over parts plus `tail`, concatenated once. When nothing was carried, a line is
   * `tail` itself, and so is a body when bodies are viewed; a body that is not (`copy`) is a copy,
   * in memory from #allocate.
   */
  #takeParts(tail: Uint8Array, copy = false): Uint8Array {
    if (this.#parts === undefined) return copy ? this.#copyOf(tail) : tail;
    const out = this.#allocate(this.#partsLength + tail.length);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    out.set(tail, offset);
    this.#parts = undefined;
    this.#partsLength = 0;
    this.#lastPartByte = -1;
    return out;
  }

  #copyOf(view: Uint8Array): Uint8Array {
    const copy = this.#allocate(view.length);
    copy.set(view);
    return copy;
  }

  #emit(body: Uint8Array): void {
    const frame: StompFrame = { command: this.#command, headers: this.#headers, body };
    this.#state = 'between-frames';
    this.#headers = NO_HEADERS;
    this.#sizedBody = NO_BODY;
    this.#onFrame(frame);
  }
}
