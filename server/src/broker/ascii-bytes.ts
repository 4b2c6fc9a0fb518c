/**
 * Writing the short ASCII pieces of a frame's head (header names, message ids, a content-length)
 * straight into its buffer. V8 builds a string joined from pieces as a tree, which
 * Buffer.byteLength and Buffer.write each flatten in C++: in `perf`, flattening and measuring such
 * heads took 3.6 % of the server's CPU samples on signaling. Copied here, a piece costs a short loop.
 */

const ZERO = 0x30;

/** Writes `text`, known to be ASCII, at `at` and returns where it ends. */
export function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** Octets of a non-negative integer's decimal form. */
export function decimalLength(value: number): number {
  let length = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    length++;
  }
  return length;
}

/** Writes a non-negative integer in decimal, `length` digits, at `at`; returns where it ends. */
export function writeDecimal(out: Uint8Array, at: number, value: number, length: number): number {
  for (let i = at + length - 1; i >= at; i--) {
    out[i] = ZERO + (value % 10);
    value = Math.floor(value / 10);
  }
  return at + length;
}
