/**
 * What the broker channel is made of: the Broker interface both brokers implement, what it carries
 * and what it keeps per subscription. Types only, so every broker module imports them from here and
 * none imports another for its types.
 */
import type { StompRtcError } from '../../../shared/src/errors.js';
import type { StompFrame, StompHeaders, StompVersion } from '../../../shared/src/stomp/frame.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

/** The session side of a subscription: where MESSAGE frames go (the clientOutbound channel). */
export interface Subscriber {
  readonly sessionId: string;
  /** The session's STOMP version: a 1.0 session cannot carry every header (see headersFit). @default '1.2' */
  readonly version?: StompVersion;
  /** Hands one MESSAGE to the session's outbound path. */
  deliver(frame: StompFrame): void;
  /** Ends the session with a fatal ERROR (the relay lost what backs its subscriptions). */
  abort?(error: StompRtcError): void;
}

/** A message as the broker carries it: the SEND's destination, user headers and body. */
export interface BrokerMessage {
  readonly destination: string;
  /** Headers carried to MESSAGE: user-defined ones and content-type (the spec's MUST for SEND). */
  readonly headers: StompHeaders;
  readonly body: Uint8Array;
  /** The session whose SEND this is; absent for messages the server itself publishes. */
  readonly sender?: string;
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
 * The broker channel. The in-memory broker (simple-broker.ts) and the RabbitMQ relay
 * (relay-broker.ts) implement it on one shared dispatch, and test/contract runs one suite against both.
 */
export interface Broker {
  /** False while the broker cannot serve (the relay lost RabbitMQ); /healthz reports 503. */
  readonly available: boolean;
  /** What every session id this server gives out starts with: the relay's node id, so other nodes can address its sessions. */
  readonly sessionIdPrefix: string;
  /**
   * Registers the subscription at once; a returned promise settles when it is live upstream
   * (the session sends the SUBSCRIBE's RECEIPT only then) or rejects with a StompRtcError.
   */
  subscribe(subscriber: Subscriber, request: SubscribeRequest): void | Promise<void>;
  /** Returns false when the session has no such subscription. */
  unsubscribe(sessionId: string, subscriptionId: string): boolean;
  /** A returned promise settles when the broker holds the message (the relay's `/queue`: RabbitMQ confirmed it). */
  publish(message: BrokerMessage): void | Promise<void>;
  /** Returns false when no message awaits acknowledgement under that id. */
  ack(sessionId: string, ackId: string): boolean;
  nack(sessionId: string, ackId: string): boolean;
  /** Drops every subscription of the session; unacknowledged queue messages go back for redelivery. */
  removeSession(sessionId: string): void;
  close(): Promise<void>;
}

/** A delivery awaiting ACK or NACK; `upstreamAck` is the id the relay's upstream broker gave it. */
export interface Delivery {
  readonly message: BrokerMessage;
  readonly upstreamAck?: string;
}

export interface Subscription {
  readonly subscriber: Subscriber;
  readonly id: string;
  readonly destination: string;
  readonly clientDestination: string;
  readonly ack: AckMode;
  /** Deliveries awaiting ACK, in delivery order (client mode acknowledges cumulatively). */
  readonly unacked: Map<string, Delivery>;
  /** Its encoded first lines of a MESSAGE (message-frame.ts), made at its first delivery. */
  lines: SubscriptionLines | undefined;
}

/** A subscription's `MESSAGE`, destination and subscription lines for one STOMP version. */
export interface SubscriptionLines {
  readonly version: StompVersion;
  /** Equal for subscriptions whose lines are equal (same destination and id, as `sub-0` often is). */
  readonly key: string;
  readonly bytes: Buffer;
}

export interface BrokerLimits {
  /** Unacknowledged deliveries a client-ack subscription may hold before delivery to it pauses. */
  readonly maxUnackedPerSubscription: number;
}
