/** Limits the decoder enforces; each is checked at the first byte where it can be known. */
export interface DecoderLimits {
  /** Largest frame, command line to NUL, in bytes. A larger content-length is refused when read. */
  readonly maxFrameBytes: number;
  /** Most headers one frame may carry. */
  readonly maxHeaders: number;
  /** Longest header line (name, colon and value, escaped form) in bytes. */
  readonly maxHeaderLineBytes: number;
}

/** Defaults for a decoder used without configuration (the client side, tests). */
export const DEFAULT_DECODER_LIMITS: DecoderLimits = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxHeaders: 64,
  maxHeaderLineBytes: 8 * 1024,
});
