import { ConstantStrings } from './constant-strings.js';

/**
 * The header names of STOMP 1.2's frames and of stomprtc's destinations (docs/protocol.md). None
 * holds a character that header escaping touches.
 * @internal exported for test/shared/frame-encoder.test.ts, which checks that last claim
 */
export const HEADER_NAMES: readonly string[] = [
  'accept-version',
  'ack',
  'content-length',
  'content-type',
  'destination',
  'heart-beat',
  'host',
  'id',
  'login',
  'message',
  'message-id',
  'passcode',
  'receipt',
  'receipt-id',
  'redelivered',
  'server',
  'session',
  'subscription',
  'transaction',
  'user-name',
  'version',
  'display-name',
  'from',
  'room',
  'to',
];

/**
 * HEADER_NAMES as constants: the decoder keys headers by them (a constant is already in V8's
 * string table) and the encoder skips their escape test (a RegExp run per name of every frame).
 */
export const KNOWN_HEADER_NAMES = new ConstantStrings(HEADER_NAMES);
