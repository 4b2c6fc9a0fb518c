/**
 * The catalogue of error codes stomprtc puts on the wire. A fatal code ends the session with an
 * ERROR frame (header `code` and a `message`); a non-fatal one is a MESSAGE on
 * `/user/queue/errors` with body `{"code","message"}` and the session stays open.
 * Code and tests branch on these codes, never on message text; docs/errors.md lists them all and a
 * test keeps the two in step.
 */
export const ERROR_CATALOGUE = Object.freeze({
  // Frame and codec (fatal: after a framing error the byte stream cannot be trusted).
  MALFORMED_FRAME: {
    fatal: true,
    summary: 'the bytes are not a STOMP frame (bad header line, missing NUL terminator, bad content-length)',
  },
  UNKNOWN_COMMAND: { fatal: true, summary: 'the frame command is not a STOMP client command' },
  INVALID_ESCAPE: { fatal: true, summary: 'a header uses an escape sequence STOMP does not define' },
  FRAME_TOO_LARGE: { fatal: true, summary: 'the frame, or its declared content-length, is over the frame size limit' },
  TOO_MANY_HEADERS: { fatal: true, summary: 'the frame has more headers than the limit' },
  HEADER_TOO_LONG: { fatal: true, summary: 'a header line is longer than the limit' },
  MISSING_HEADER: { fatal: true, summary: 'a header the specification requires for this command is absent' },
  BODY_NOT_ALLOWED: { fatal: true, summary: 'only SEND may carry a body from a client' },
  // Session (fatal).
  NOT_CONNECTED: { fatal: true, summary: 'a frame other than CONNECT or STOMP arrived before CONNECT' },
  ALREADY_CONNECTED: { fatal: true, summary: 'a second CONNECT on a live session' },
  UNSUPPORTED_VERSION: { fatal: true, summary: 'no protocol version in accept-version is supported (1.0, 1.1, 1.2)' },
  AUTH_FAILED: { fatal: true, summary: 'the credentials in CONNECT were missing, malformed or rejected' },
  TOKEN_EXPIRED: { fatal: true, summary: "the session's token reached its exp without a refresh (SEND /app/token)" },
  TOO_MANY_SESSIONS: {
    fatal: true,
    summary: 'the user (JWT sub) already holds the maximum number of sessions (MAX_SESSIONS_PER_USER)',
  },
  TOO_MANY_CONNECTIONS: {
    fatal: true,
    summary: 'the client address already holds the maximum number of connections (MAX_CONNECTIONS_PER_IP)',
  },
  CONNECT_TIMEOUT: { fatal: true, summary: 'no CONNECT arrived within the allowed time after the transport opened' },
  HEARTBEAT_TIMEOUT: { fatal: true, summary: 'the client stopped sending within the negotiated heart-beat window' },
  SLOW_CONSUMER: { fatal: true, summary: 'the outbound buffer of the session went over its limit' },
  DUPLICATE_SUBSCRIPTION: { fatal: true, summary: 'SUBSCRIBE reuses an id that is live on this session' },
  THROTTLE_BACKLOG_EXCEEDED: {
    fatal: true,
    summary:
      'the session sent faster than its rate for so long that the frames waiting their turn went over the throttle bound',
  },
  SERVER_SHUTTING_DOWN: { fatal: true, summary: 'the server is closing; reconnect to another node or later' },
  BROKER_UNAVAILABLE: {
    fatal: true,
    summary: 'the node has no message broker (RabbitMQ) to serve this session; connect to another node or later',
  },
  // Non-fatal: the frame is refused, the session goes on.
  TOO_MANY_SUBSCRIPTIONS: { fatal: false, summary: 'the session already has the maximum number of subscriptions' },
  UNKNOWN_SUBSCRIPTION: { fatal: false, summary: 'UNSUBSCRIBE names no live subscription of this session' },
  UNKNOWN_TRANSACTION: { fatal: false, summary: 'the transaction is not open on this session' },
  DUPLICATE_TRANSACTION: { fatal: false, summary: 'BEGIN names a transaction already open on this session' },
  TOO_MANY_TRANSACTIONS: { fatal: false, summary: 'too many open transactions, or too many frames in one' },
  QUEUE_FULL: { fatal: false, summary: 'the queue holds its maximum of undelivered messages; the SEND was refused' },
  QUEUE_BYTES_EXCEEDED: {
    fatal: false,
    summary:
      'the /queue destinations hold their maximum of undelivered bytes, server-wide or from this session; the SEND was refused',
  },
  NOT_FORWARDED: { fatal: false, summary: 'the node cannot reach RabbitMQ at the moment; the frame took no effect' },
  UNKNOWN_ACK_ID: { fatal: false, summary: 'ACK or NACK names no message awaiting acknowledgement on this session' },
  INVALID_DESTINATION: {
    fatal: false,
    summary: 'the destination is not under /topic, /queue, /app or /user, or is malformed',
  },
  READ_ONLY_DESTINATION: {
    fatal: false,
    summary: 'clients may not SEND to this destination (/topic/room/..., /user/...)',
  },
  UNKNOWN_APP_DESTINATION: { fatal: false, summary: 'no application handler serves this /app destination' },
  INVALID_ROOM_ID: { fatal: false, summary: 'the room id does not match [A-Za-z0-9][A-Za-z0-9._-]{0,63}' },
  INVALID_DISPLAY_NAME: { fatal: false, summary: 'display-name is longer than 64 characters' },
  ROOM_FULL: { fatal: false, summary: 'the room has the maximum number of members' },
  TOO_MANY_ROOMS: { fatal: false, summary: 'the session is a member of the maximum number of rooms' },
  ALREADY_IN_ROOM: { fatal: false, summary: 'the session is already a member of this room' },
  NOT_A_MEMBER: { fatal: false, summary: 'the sender is not a member of the room named in the frame' },
  UNKNOWN_PEER: { fatal: false, summary: 'the addressee is not a member of the room' },
  MISSING_ROOM: { fatal: false, summary: 'the frame lacks the room header (or to, for a signal)' },
  INVALID_SIGNAL: { fatal: false, summary: 'a signal body is not a JSON object' },
  BODY_TOO_LARGE: { fatal: false, summary: 'the body is over the limit for this destination' },
  RATE_LIMITED: {
    fatal: false,
    summary:
      'the session sends faster than its allowed rate (the session throttles instead; kept for limits that refuse)',
  },
  UNREPRESENTABLE_HEADER: {
    fatal: false,
    summary:
      'a message for this STOMP 1.0 session has a header with a line feed (or a name with a colon), which 1.0 cannot carry; it was not delivered to this session',
  },
  INVALID_REPORT: { fatal: false, summary: 'a link report is not of the documented form' },
  FORBIDDEN: {
    fatal: false,
    summary: "the token (or the server's authorize hook) does not allow this action on this room or destination",
  },
  TOKEN_REFUSED: {
    fatal: false,
    summary: 'a refreshed token (SEND /app/token) was invalid or for another user; the session keeps its token',
  },
});

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isFatal(code: ErrorCode): boolean {
  return ERROR_CATALOGUE[code].fatal;
}

/** An error carrying a catalogue code; thrown by the codec and the server alike. */
export class StompRtcError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'StompRtcError';
    this.code = code;
  }
  get fatal(): boolean {
    return ERROR_CATALOGUE[this.code].fatal;
  }
}

/** Body of a MESSAGE on /user/queue/errors. */
export interface ErrorMessageBody {
  readonly code: ErrorCode;
  readonly message: string;
}
