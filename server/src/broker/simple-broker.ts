import { randomBytes } from 'node:crypto';
import { StompRtcError } from '../../../shared/src/errors.js';
import type { Broker, BrokerMessage, Subscriber, SubscribeRequest } from './broker.js';
import { messageFrame } from './message-frame.js';
import { SubscriptionRegistry, type Subscription } from './subscription-registry.js';
import { isUserQueue } from '../messaging/destinations.js';

export interface SimpleBrokerLimits {
  /** Unacknowledged deliveries a client-ack subscription may hold before it is skipped. */
  readonly maxUnackedPerSubscription: number;
  /** Undelivered messages a /queue destination may hold. */
  readonly maxQueueDepth: number;
}

interface Pending {
  readonly message: BrokerMessage;
  readonly redelivered: boolean;
}

interface QueueState {
  readonly pending: Pending[];
  /** Index of the subscriber that gets the next message (round robin). */
  next: number;
}

/**
 * The embedded in-memory broker: `/topic` fans out to every subscriber, `/queue` hands each
 * message to one subscriber in turn and keeps it until acknowledged.
 */
export class SimpleBroker implements Broker {
  private readonly registry = new SubscriptionRegistry();
  private readonly queues = new Map<string, QueueState>();
  /** Which subscription holds an unacknowledged delivery, by its ack id. */
  private readonly awaitingAck = new Map<string, Subscription>();
  private readonly idPrefix = randomBytes(4).toString('hex') + '-';
  private nextId = 0;

  constructor(private readonly limits: SimpleBrokerLimits) {}

  subscribe(subscriber: Subscriber, request: SubscribeRequest): void {
    const subscription: Subscription = { subscriber, ...request, unacked: new Map() };
    this.registry.add(subscription);
    if (isQueue(request.destination)) this.drain(request.destination);
  }

  unsubscribe(sessionId: string, subscriptionId: string): boolean {
    const subscription = this.registry.remove(sessionId, subscriptionId);
    if (!subscription) return false;
    this.returnUnacked(subscription);
    return true;
  }

  publish(message: BrokerMessage): void {
    const { destination } = message;
    if (!isQueue(destination)) {
      for (const subscription of this.registry.ofDestination(destination)) this.deliver(subscription, message, false);
      return;
    }
    // A per-session queue with no subscriber has nobody who could ever read it (Spring's broker drops these too).
    if (isUserQueue(destination) && this.registry.ofDestination(destination).length === 0) return;
    const queue = this.queue(destination);
    if (queue.pending.length >= this.limits.maxQueueDepth) {
      throw new StompRtcError('QUEUE_FULL', `${destination} holds ${this.limits.maxQueueDepth} undelivered messages (MAX_QUEUE_DEPTH)`);
    }
    queue.pending.push({ message, redelivered: false });
    this.drain(destination);
  }

  ack(sessionId: string, ackId: string): boolean {
    const settled = this.settle(sessionId, ackId);
    if (!settled) return false;
    const [subscription] = settled;
    if (isQueue(subscription.destination)) this.drain(subscription.destination);
    return true;
  }

  nack(sessionId: string, ackId: string): boolean {
    const settled = this.settle(sessionId, ackId);
    if (!settled) return false;
    const [subscription, messages] = settled;
    if (isQueue(subscription.destination)) this.requeue(subscription.destination, messages);
    return true;
  }

  removeSession(sessionId: string): void {
    for (const subscription of this.registry.ofSession(sessionId)) {
      this.registry.remove(sessionId, subscription.id);
      this.returnUnacked(subscription);
    }
  }

  async close(): Promise<void> {
    this.queues.clear();
    this.awaitingAck.clear();
  }

  /** Deliveries and destinations held, for /metrics and leak tests. */
  stats(): { destinations: number; queuedMessages: number; unacked: number } {
    let queuedMessages = 0;
    for (const queue of this.queues.values()) queuedMessages += queue.pending.length;
    return { destinations: this.registry.destinationCount, queuedMessages, unacked: this.awaitingAck.size };
  }

  private deliver(subscription: Subscription, message: BrokerMessage, redelivered: boolean): void {
    const messageId = this.idPrefix + (this.nextId++).toString(36);
    if (subscription.ack !== 'auto') {
      subscription.unacked.set(messageId, message);
      this.awaitingAck.set(messageId, subscription);
      if (!isQueue(subscription.destination)) this.forgetOldestTopicDelivery(subscription);
    }
    subscription.subscriber.deliver(messageFrame(subscription, message, messageId, redelivered));
  }

  /**
   * Settles an ACK or NACK: "client" acknowledges cumulatively — every delivery to that
   * subscription up to this one — and "client-individual" only the one named (§SUBSCRIBE ack).
   */
  private settle(sessionId: string, ackId: string): [Subscription, BrokerMessage[]] | undefined {
    const subscription = this.awaitingAck.get(ackId);
    if (!subscription || subscription.subscriber.sessionId !== sessionId) return undefined;
    const settled: BrokerMessage[] = [];
    if (subscription.ack === 'client-individual') {
      settled.push(subscription.unacked.get(ackId)!);
      subscription.unacked.delete(ackId);
      this.awaitingAck.delete(ackId);
      return [subscription, settled];
    }
    for (const [id, message] of subscription.unacked) {
      settled.push(message);
      subscription.unacked.delete(id);
      this.awaitingAck.delete(id);
      if (id === ackId) break;
    }
    return [subscription, settled];
  }

  private returnUnacked(subscription: Subscription): void {
    const messages = [...subscription.unacked.values()];
    for (const id of subscription.unacked.keys()) this.awaitingAck.delete(id);
    subscription.unacked.clear();
    if (!isQueue(subscription.destination)) return;
    if (messages.length > 0) this.requeue(subscription.destination, messages);
    else this.drain(subscription.destination);
  }

  /** Returned messages go to the head of the queue, in their original order, marked redelivered. */
  private requeue(destination: string, messages: BrokerMessage[]): void {
    if (messages.length === 0) return;
    const queue = this.queue(destination);
    queue.pending.unshift(...messages.map((message) => ({ message, redelivered: true })));
    this.drain(destination);
  }

  private drain(destination: string): void {
    const queue = this.queues.get(destination);
    if (!queue) return;
    const subscriptions = this.registry.ofDestination(destination);
    while (queue.pending.length > 0) {
      const subscription = this.nextReady(queue, subscriptions);
      if (!subscription) break;
      const { message, redelivered } = queue.pending.shift()!;
      this.deliver(subscription, message, redelivered);
    }
    // The state (and its round-robin cursor) lives while the queue has messages or subscribers.
    if (queue.pending.length === 0 && this.registry.ofDestination(destination).length === 0) this.queues.delete(destination);
  }

  /** Round robin over subscribers that can take another message (client-ack ones have a cap). */
  private nextReady(queue: QueueState, subscriptions: readonly Subscription[]): Subscription | undefined {
    for (let tried = 0; tried < subscriptions.length; tried++) {
      const index = (queue.next + tried) % subscriptions.length;
      const subscription = subscriptions[index]!;
      if (subscription.ack === 'auto' || subscription.unacked.size < this.limits.maxUnackedPerSubscription) {
        queue.next = index + 1;
        return subscription;
      }
    }
    return undefined;
  }

  /** Topic deliveries are never redelivered, so acknowledgement bookkeeping for them is capped. */
  private forgetOldestTopicDelivery(subscription: Subscription): void {
    if (subscription.unacked.size <= this.limits.maxUnackedPerSubscription) return;
    const oldest = subscription.unacked.keys().next().value!;
    subscription.unacked.delete(oldest);
    this.awaitingAck.delete(oldest);
  }

  private queue(destination: string): QueueState {
    let queue = this.queues.get(destination);
    if (!queue) this.queues.set(destination, (queue = { pending: [], next: 0 }));
    return queue;
  }
}

function isQueue(destination: string): boolean {
  return destination.startsWith('/queue/');
}
