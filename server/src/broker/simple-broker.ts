import { StompRtcError } from '../../../shared/src/errors.js';
import { DispatchingBroker, isQueue, type BrokerLimits, type BrokerMessage, type Delivery, type Subscriber, type SubscribeRequest } from './broker.js';
import type { Subscription } from './subscription-registry.js';
import { isUserQueue } from '../messaging/destinations.js';

export interface SimpleBrokerLimits extends BrokerLimits {
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
 * message to one subscriber in turn and keeps it until acknowledged. Dispatch (MESSAGE frames,
 * acknowledgement bookkeeping) is the shared DispatchingBroker's; this class holds the queues.
 */
export class SimpleBroker extends DispatchingBroker {
  private readonly queues = new Map<string, QueueState>();

  constructor(protected override readonly limits: SimpleBrokerLimits) {
    super(limits);
  }

  subscribe(subscriber: Subscriber, request: SubscribeRequest): void {
    this.newSubscription(subscriber, request);
    if (isQueue(request.destination)) this.drain(request.destination);
  }

  publish(message: BrokerMessage): void {
    const { destination } = message;
    if (!isQueue(destination)) return this.fanOut(destination, message);
    // A per-session queue with no subscriber has nobody who could ever read it (Spring's broker drops these too).
    if (isUserQueue(destination) && this.registry.ofDestination(destination).length === 0) return;
    const queue = this.queue(destination);
    if (queue.pending.length >= this.limits.maxQueueDepth) {
      throw new StompRtcError('QUEUE_FULL', `${destination} holds ${this.limits.maxQueueDepth} undelivered messages (MAX_QUEUE_DEPTH)`);
    }
    queue.pending.push({ message, redelivered: false });
    this.drain(destination);
  }

  async close(): Promise<void> {
    this.queues.clear();
  }

  /** Deliveries and destinations held, for /metrics and leak tests. */
  stats(): { destinations: number; queuedMessages: number; unacked: number } {
    let queuedMessages = 0;
    for (const queue of this.queues.values()) queuedMessages += queue.pending.length;
    return { destinations: this.registry.destinationCount, queuedMessages, unacked: this.unackedCount };
  }

  protected settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void {
    if (!isQueue(subscription.destination)) return;
    if (outcome === 'nack') this.requeue(subscription.destination, deliveries);
    else this.drain(subscription.destination);
  }

  protected subscriptionRemoved(subscription: Subscription, unacked: Delivery[]): void {
    if (!isQueue(subscription.destination)) return;
    if (unacked.length > 0) this.requeue(subscription.destination, unacked);
    else this.drain(subscription.destination);
  }

  /** Returned messages go to the head of the queue, in their original order, marked redelivered. */
  private requeue(destination: string, deliveries: Delivery[]): void {
    if (deliveries.length === 0) return;
    // A per-session queue whose session is gone has nobody left to redeliver to.
    if (isUserQueue(destination) && this.registry.ofDestination(destination).length === 0) return;
    const queue = this.queue(destination);
    queue.pending.unshift(...deliveries.map(({ message }) => ({ message, redelivered: true })));
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

  private queue(destination: string): QueueState {
    let queue = this.queues.get(destination);
    if (!queue) this.queues.set(destination, (queue = { pending: [], next: 0 }));
    return queue;
  }
}
