import { randomBytes } from 'node:crypto';
import type { StompRtcError } from '../../../shared/src/errors.js';
import type { StompFrame, StompHeaders } from '../../../shared/src/stomp/frame.js';
import { messageFrame } from './message-frame.js';
import { SubscriptionRegistry, type Subscription } from './subscription-registry.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

/** The session side of a subscription: where MESSAGE frames go (the clientOutbound channel). */
export interface Subscriber {
  readonly sessionId: string;
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
  /**
   * Registers the subscription at once; a returned promise settles when it is live upstream
   * (the session sends the SUBSCRIBE's RECEIPT only then) or rejects with a StompRtcError.
   */
  subscribe(subscriber: Subscriber, request: SubscribeRequest): void | Promise<void>;
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

/** A delivery awaiting ACK or NACK; `upstreamAck` is the id the relay's upstream broker gave it. */
export interface Delivery {
  readonly message: BrokerMessage;
  readonly upstreamAck?: string;
}

/**
 * The dispatch both brokers share (Spring's AbstractBrokerMessageHandler; socket.io's Adapter
 * under ClusterAdapter): the local subscription registry, MESSAGE frames built by message-frame.ts,
 * acknowledgement bookkeeping and topic fan-out. A subclass decides only where messages are held
 * and who redelivers them: SimpleBroker in memory, RelayBroker upstream on RabbitMQ.
 */
export abstract class DispatchingBroker implements Broker {
  protected readonly registry = new SubscriptionRegistry();
  /** Which subscription holds an unacknowledged delivery, by its ack id. */
  private readonly awaitingAck = new Map<string, Subscription>();
  private readonly idPrefix = randomBytes(4).toString('hex') + '-';
  private nextId = 0;

  constructor(protected readonly limits: BrokerLimits) {}

  get available(): boolean {
    return true;
  }

  abstract subscribe(subscriber: Subscriber, request: SubscribeRequest): void | Promise<void>;
  abstract publish(message: BrokerMessage): void;
  abstract close(): Promise<void>;
  /** The subscription is gone (UNSUBSCRIBE or its session ended); `unacked` are its deliveries never settled. */
  protected abstract subscriptionRemoved(subscription: Subscription, unacked: Delivery[]): void;
  /** An ACK or NACK settled `deliveries` (in delivery order; the last is the one the client named). */
  protected abstract settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void;

  unsubscribe(sessionId: string, subscriptionId: string): boolean {
    const subscription = this.registry.remove(sessionId, subscriptionId);
    if (!subscription) return false;
    this.subscriptionRemoved(subscription, this.forgetUnacked(subscription));
    return true;
  }

  removeSession(sessionId: string): void {
    for (const subscription of this.registry.ofSession(sessionId)) this.unsubscribe(sessionId, subscription.id);
  }

  ack(sessionId: string, ackId: string): boolean {
    return this.settle(sessionId, ackId, 'ack');
  }

  nack(sessionId: string, ackId: string): boolean {
    return this.settle(sessionId, ackId, 'nack');
  }

  protected newSubscription(subscriber: Subscriber, request: SubscribeRequest): Subscription {
    const subscription: Subscription = { subscriber, ...request, unacked: new Map() };
    this.registry.add(subscription);
    return subscription;
  }

  /** "/topic": every local subscriber of the destination gets the message. */
  protected fanOut(destination: string, message: BrokerMessage): void {
    for (const subscription of this.registry.ofDestination(destination)) this.deliver(subscription, message, false);
  }

  /** Hands one MESSAGE to a subscriber, keeping it for ACK/NACK when the subscription acknowledges. */
  protected deliver(subscription: Subscription, message: BrokerMessage, redelivered: boolean, upstreamAck?: string): void {
    const messageId = this.idPrefix + (this.nextId++).toString(36);
    if (subscription.ack !== 'auto') {
      subscription.unacked.set(messageId, upstreamAck === undefined ? { message } : { message, upstreamAck });
      this.awaitingAck.set(messageId, subscription);
      if (!isQueue(subscription.destination)) this.forgetOldestTopicDelivery(subscription);
    }
    subscription.subscriber.deliver(messageFrame(subscription, message, messageId, redelivered));
  }

  protected get unackedCount(): number {
    return this.awaitingAck.size;
  }

  /**
   * Settles an ACK or NACK: "client" acknowledges cumulatively — every delivery to that
   * subscription up to this one — and "client-individual" only the one named (§SUBSCRIBE ack).
   */
  private settle(sessionId: string, ackId: string, outcome: 'ack' | 'nack'): boolean {
    const subscription = this.awaitingAck.get(ackId);
    if (!subscription || subscription.subscriber.sessionId !== sessionId) return false;
    const deliveries: Delivery[] = [];
    if (subscription.ack === 'client-individual') {
      deliveries.push(subscription.unacked.get(ackId)!);
      subscription.unacked.delete(ackId);
      this.awaitingAck.delete(ackId);
    } else {
      for (const [id, delivery] of subscription.unacked) {
        deliveries.push(delivery);
        subscription.unacked.delete(id);
        this.awaitingAck.delete(id);
        if (id === ackId) break;
      }
    }
    this.settled(subscription, deliveries, outcome);
    return true;
  }

  private forgetUnacked(subscription: Subscription): Delivery[] {
    const deliveries = [...subscription.unacked.values()];
    for (const id of subscription.unacked.keys()) this.awaitingAck.delete(id);
    subscription.unacked.clear();
    return deliveries;
  }

  /** Topic deliveries are never redelivered, so acknowledgement bookkeeping for them is capped. */
  private forgetOldestTopicDelivery(subscription: Subscription): void {
    if (subscription.unacked.size <= this.limits.maxUnackedPerSubscription) return;
    const oldest = subscription.unacked.keys().next().value!;
    subscription.unacked.delete(oldest);
    this.awaitingAck.delete(oldest);
  }
}

export interface BrokerLimits {
  /** Unacknowledged deliveries a client-ack subscription may hold before delivery to it pauses. */
  readonly maxUnackedPerSubscription: number;
}

export function isQueue(destination: string): boolean {
  return destination.startsWith('/queue/');
}
