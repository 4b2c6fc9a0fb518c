import type { ErrorCode } from '../../shared/src/errors.js';

/** Codes raised by the client library itself (never on the wire). */
export const CLIENT_ERROR_CODES = Object.freeze({
  OUTBOX_FULL: 'the outbox toward a peer is at its bound (limits.ts); the message was not queued',
  NOT_IN_ROOM: 'the room was left or the session closed',
  UNKNOWN_PEER: 'sendTo() names no member of the room',
  SESSION_CLOSED: 'the session is closed',
  CONNECT_FAILED: 'the signaling connection could not be established',
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
