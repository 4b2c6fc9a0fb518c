import type { ErrorCode } from '../../shared/src/errors.js';

/** Codes raised by the client library itself (never on the wire). */
export const CLIENT_ERROR_CODES = Object.freeze({
  OUTBOX_FULL: 'the outbox toward a peer is at its bound (limits.ts); the message was not queued',
  NOT_IN_ROOM: 'the room was left or the session closed',
  UNKNOWN_PEER: 'sendTo() names no member of the room',
  SESSION_CLOSED: 'the session is closed',
  CONNECT_FAILED: 'no signaling connection within connectTimeoutMs, or the reconnect policy gave up',
  SERVER_ERROR: 'the server reported an error without a catalogue code (not a stomprtc server?)',
  INVALID_MESSAGE: 'send() was given what it cannot carry: undefined, a function, a symbol, a BigInt, a cycle, a Map…',
  MESSAGE_TOO_LARGE: 'the message is larger than maxMessageBytes',
  E2E_MISMATCH:
    'key confirmation with a member failed: the room passphrases differ, or the server swapped the keys it relayed',
  E2E_REQUIRED:
    'a member offers no end-to-end encryption (a plain peer, or an older client) in a room with a passphrase',
  E2E_TAMPERED: 'a relayed envelope failed authentication (altered, forged, or clear where it must be sealed); dropped',
  E2E_REPLAY: 'a relayed envelope came again (same frame counter); dropped',
  WEBRTC_UNAVAILABLE: 'no WebRTC implementation was found; use relayOnly or pass wrtc',
});

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

/** Either a server catalogue code (shared/src/errors.ts) or a client code. */
export type AnyErrorCode = ErrorCode | ClientErrorCode;

export class ClientError extends Error {
  readonly code: AnyErrorCode;
  constructor(code: AnyErrorCode, message: string) {
    super(message);
    this.name = 'StompRtcClientError';
    this.code = code;
  }
}

/** What a room's 'error' event carries. */
export interface RoomErrorInfo {
  readonly code: AnyErrorCode;
  readonly message: string;
}
