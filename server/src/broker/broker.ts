import type { StompFrame, StompHeaders } from '../../../shared/src/stomp/frame.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

/** The session side of a subscription: where MESSAGE frames go (the clientOutbound channel). */
export interface Subscriber {
  readonly sessionId: string;
  /** Hands one MESSAGE to the session's outbound path. */
  deliver(frame: StompFrame): void;
}

/** A message as the broker carries it: the SEND's destination, user headers and body. */
export interface BrokerMessage {
  readonly destination: string;
  /** Headers carried to MESSAGE: user-defined ones and content-type (the spec's MUST for SEND). */
  readonly headers: StompHeaders;
  readonly body: Uint8Array;
}

export interface SubscribeRequest {
  readonly id: string;
  /** The broker destination (a `/user/...` one already resolved to this session). */
  readonly destination: string;
  /** The destination as the client named it; MESSAGE frames carry it back. */
  readonly clientDestination: string;
  readonly ack: AckMode;
}

/**
 * The broker channel. The in-memory broker implements it; a broker relay to RabbitMQ would
 * implement the same contract, and test/contract runs one suite against every implementation.
 */
export interface Broker {
  subscribe(subscriber: Subscriber, request: SubscribeRequest): void;
  /** Returns false when the session has no such subscription. */
  unsubscribe(sessionId: string, subscriptionId: string): boolean;
  publish(message: BrokerMessage): void;
  /** Returns false when no message awaits acknowledgement under that id. */
  ack(sessionId: string, ackId: string): boolean;
  nack(sessionId: string, ackId: string): boolean;
  /** Drops every subscription of the session; unacknowledged queue messages go back for redelivery. */
  removeSession(sessionId: string): void;
  close(): Promise<void>;
}

/** Headers a SEND carries that describe the SEND itself and never reach subscribers. */
export const SEND_ONLY_HEADERS: ReadonlySet<string> = new Set([
  'destination', 'receipt', 'transaction', 'content-length',
  // The server sets these on MESSAGE; a client must not forge them.
  'message-id', 'subscription', 'ack', 'redelivered',
]);
