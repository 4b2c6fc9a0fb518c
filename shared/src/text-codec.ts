/**
 * UTF-8 text ⇄ bytes. Node and browsers both have TextEncoder and TextDecoder as globals, but
 * shared/ compiles with neither the DOM nor the Node type library (it runs in both), so it
 * describes the part it uses here.
 */
export interface Utf8Encoder {
  encode(text: string): Uint8Array;
  /** Writes `text` as UTF-8 at the start of `into`, as much of it as fits. */
  encodeInto(text: string, into: Uint8Array): { read: number; written: number };
}

export interface Utf8Decoder {
  decode(bytes: Uint8Array): string;
}

interface TextCodecGlobals {
  readonly TextEncoder: new () => Utf8Encoder;
  readonly TextDecoder: new () => Utf8Decoder;
}

const globals = globalThis as unknown as TextCodecGlobals;

export const textEncoder: Utf8Encoder = new globals.TextEncoder();
export const textDecoder: Utf8Decoder = new globals.TextDecoder();

/**
 * How many octets textEncoder makes of `text`, without making them: a surrogate pair is 4, and a
 * lone surrogate 3, as the U+FFFD it becomes.
 */
export function utf8Length(text: string): number {
  let octets = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) octets += 1;
    else if (unit >= 0xd800 && unit < 0xdc00 && isLowSurrogate(text.charCodeAt(i + 1))) {
      octets += 2;
      i++;
    } else octets += 2;
  }
  return octets;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit < 0xe000;
}
