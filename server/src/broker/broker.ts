import { randomBytes } from 'node:crypto';
import { headersFit } from '../../../shared/src/stomp/frame-encoder.js';
import { retained } from '../body-memory.js';
import { isQueue } from './destinations.js';
import { MessageEncoding, MessageFrame } from './message-frame.js';
import { SubscriptionRegistry } from './subscription-registry.js';
import type {
  Broker,
  BrokerLimits,
  BrokerMessage,
  Delivery,
  Subscriber,
  SubscribeRequest,
  Subscription,
} from './types.js';

/** Headers a SEND carries that describe the SEND itself and never reach subscribers. */
export const SEND_ONLY_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'receipt',
  'transaction',
  'content-length',
  // The server sets these on MESSAGE; a client must not forge them.
  'message-id',
  'subscription',
  'ack',
  'redelivered',
]);

/**
 * The dispatch both brokers share (Spring's AbstractBrokerMessageHandler; socket.io's Adapter
 * under ClusterAdapter): the local subscription registry, MESSAGE frames built by message-frame.ts,
 * acknowledgement bookkeeping and topic fan-out. A subclass decides only where messages are held
 * and who redelivers them: SimpleBroker in memory, RelayBroker upstream on RabbitMQ.
 */
export abstract class DispatchingBroker implements Broker {
  protected readonly registry = new SubscriptionRegistry();
  /** Which subscription holds an unacknowledged delivery, by its ack id. */
  readonly #awaitingAck = new Map<string, Subscription>();
  readonly #idPrefix = randomBytes(4).toString('hex') + '-';
  readonly #fitsLegacy = new WeakMap<BrokerMessage, boolean>();
  #nextId = 0;

  constructor(protected readonly limits: BrokerLimits) {}

  get available(): boolean {
    return true;
  }

  get sessionIdPrefix(): string {
    return '';
  }

  abstract subscribe(subscriber: Subscriber, request: SubscribeRequest): void | Promise<void>;
  abstract publish(message: BrokerMessage): void | Promise<void>;
  abstract close(): Promise<void>;
  /** The subscription is gone (UNSUBSCRIBE or its session ended); `unacked` are its deliveries never settled. */
  protected abstract subscriptionRemoved(subscription: Subscription, unacked: Delivery[]): void;
  /** An ACK or NACK settled `deliveries` (in delivery order; the last is the one the client named). */
  protected abstract settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void;

  unsubscribe(sessionId: string, subscriptionId: string): boolean {
    const subscription = this.registry.remove(sessionId, subscriptionId);
    if (!subscription) return false;
    this.subscriptionRemoved(subscription, this.#forgetUnacked(subscription));
    return true;
  }

  removeSession(sessionId: string): void {
    for (const subscription of this.registry.ofSession(sessionId)) this.unsubscribe(sessionId, subscription.id);
  }

  ack(sessionId: string, ackId: string): boolean {
    return this.#settle(sessionId, ackId, 'ack');
  }

  nack(sessionId: string, ackId: string): boolean {
    return this.#settle(sessionId, ackId, 'nack');
  }

  protected newSubscription(subscriber: Subscriber, request: SubscribeRequest): Subscription {
    const subscription: Subscription = { subscriber, ...request, unacked: new Map(), lines: undefined };
    this.registry.add(subscription);
    return subscription;
  }

  /** "/topic": every local subscriber of the destination gets the message. */
  protected fanOut(destination: string, message: BrokerMessage): void {
    const subscriptions = this.registry.ofDestination(destination);
    if (subscriptions.length === 0) return;
    // Encoded once for all of them; each delivery adds only its own lines.
    const encoding = new MessageEncoding(message, this.#newMessageId());
    for (const subscription of subscriptions) this.deliver(subscription, message, false, undefined, encoding);
  }

  /** Hands one MESSAGE to a subscriber, keeping it for ACK/NACK when the subscription acknowledges. */
  protected deliver(
    subscription: Subscription,
    message: BrokerMessage,
    redelivered: boolean,
    upstreamAck?: string,
    encoding = new MessageEncoding(message, this.#newMessageId()),
  ): void {
    // An auto-ack first delivery carries the message's id; one that is acknowledged gets its own.
    const messageId = subscription.ack === 'auto' && !redelivered ? encoding.messageId : this.#newMessageId();
    if (subscription.ack !== 'auto') {
      // Held until ACK or NACK: in memory of its own (body-memory.ts).
      const kept = retained(message);
      subscription.unacked.set(
        messageId,
        upstreamAck === undefined ? { message: kept } : { message: kept, upstreamAck },
      );
      this.#awaitingAck.set(messageId, subscription);
      if (!isQueue(subscription.destination)) this.#forgetOldestTopicDelivery(subscription);
    }
    subscription.subscriber.deliver(new MessageFrame(subscription, encoding, messageId, redelivered));
  }

  #newMessageId(): string {
    return this.#idPrefix + (this.#nextId++).toString(36);
  }

  /** Whether the subscriber's STOMP version can carry the message's headers; the answer per message is kept. */
  protected carries(subscription: Subscription, message: BrokerMessage): boolean {
    if (subscription.subscriber.version !== '1.0') return true;
    let fits = this.#fitsLegacy.get(message);
    if (fits === undefined) this.#fitsLegacy.set(message, (fits = headersFit(message.headers, '1.0')));
    return fits;
  }

  protected get unackedCount(): number {
    return this.#awaitingAck.size;
  }

  /**
   * Settles an ACK or NACK: "client" acknowledges cumulatively — every delivery to that
   * subscription up to this one — and "client-individual" only the one named (§SUBSCRIBE ack).
   */
  #settle(sessionId: string, ackId: string, outcome: 'ack' | 'nack'): boolean {
    const subscription = this.#awaitingAck.get(ackId);
    if (!subscription || subscription.subscriber.sessionId !== sessionId) return false;
    const deliveries: Delivery[] = [];
    if (subscription.ack === 'client-individual') {
      deliveries.push(subscription.unacked.get(ackId)!);
      subscription.unacked.delete(ackId);
      this.#awaitingAck.delete(ackId);
    } else {
      for (const [id, delivery] of subscription.unacked) {
        deliveries.push(delivery);
        subscription.unacked.delete(id);
        this.#awaitingAck.delete(id);
        if (id === ackId) break;
      }
    }
    this.settled(subscription, deliveries, outcome);
    return true;
  }

  #forgetUnacked(subscription: Subscription): Delivery[] {
    const deliveries = [...subscription.unacked.values()];
    for (const id of subscription.unacked.keys()) this.#awaitingAck.delete(id);
    subscription.unacked.clear();
    return deliveries;
  }

  /** Topic deliveries are never redelivered, so acknowledgement bookkeeping for them is capped. */
  #forgetOldestTopicDelivery(subscription: Subscription): void {
    if (subscription.unacked.size <= this.limits.maxUnackedPerSubscription) return;
    const oldest = subscription.unacked.keys().next().value!;
    subscription.unacked.delete(oldest);
    this.#awaitingAck.delete(oldest);
  }
}
