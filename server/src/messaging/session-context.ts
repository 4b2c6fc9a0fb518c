import type { ErrorCode } from '../../../shared/src/errors.js';
import type { StompFrame } from '../../../shared/src/stomp/frame.js';
import type { StompVersion } from '../../../shared/src/stomp/frame.js';
import type { Subscriber } from '../broker/types.js';
import type { SessionCredentials } from '../stomp/session-credentials.js';
import type { Transactions } from '../stomp/transactions.js';

export interface SessionSubscription {
  readonly destination: string;
  readonly clientDestination: string;
}

/** What the router and application handlers see of a STOMP session. */
export interface SessionContext extends Subscriber {
  /** The peer id: opaque, server-assigned, unique per session. */
  readonly sessionId: string;
  readonly version: StompVersion;
  /** The authenticated user (JWT `sub`), when auth is on. */
  readonly principal: string | undefined;
  /** The token's claims and expiry, replaced by a refresh (SEND /app/token). */
  readonly credentials: SessionCredentials;
  readonly subscriptions: Map<string, SessionSubscription>;
  readonly transactions: Transactions;
  /** Sends a frame as it is (RECEIPT, or a MESSAGE the application addresses to one subscription). */
  send(frame: StompFrame): void;
  /** A non-fatal error, to the session's /user/queue/errors. */
  reportError(code: ErrorCode, message: string, receiptId?: string): void;
  /** DISCONNECT: receipt (if asked), then a graceful close. */
  disconnect(receiptId: string | undefined): void;
}
