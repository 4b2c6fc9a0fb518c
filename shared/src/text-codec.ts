/**
 * UTF-8 text ⇄ bytes. Node and browsers both have TextEncoder and TextDecoder as globals, but
 * shared/ compiles with neither the DOM nor the Node type library (it runs in both), so it
 * describes the part it uses here.
 */
export interface Utf8Encoder {
  encode(text: string): Uint8Array;
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
