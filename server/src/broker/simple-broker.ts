import { StompRtcError } from '../../../shared/src/errors.js';
import { retained } from '../body-memory.js';
import { DispatchingBroker } from './broker.js';
import { isQueue, isUserQueue } from './destinations.js';
import type { BrokerLimits, BrokerMessage, Delivery, Subscriber, SubscribeRequest, Subscription } from './types.js';

export interface SimpleBrokerLimits extends BrokerLimits {
  /** Undelivered messages a /queue destination may hold. */
  readonly maxQueueDepth: number;
  /** Undelivered bytes all queues together may hold. */
  readonly maxQueuedBytes: number;
  /** Undelivered bytes one sender's messages may hold across all queues. */
  readonly maxQueuedBytesPerSession: number;
}

interface Pending {
  /** Once parked, in memory of its own (body-memory.ts). */
  message: BrokerMessage;
  readonly redelivered: boolean;
  /** Counted in the parked bytes: only a message that waits is, not one a subscriber takes at once. */
  parked: boolean;
}

/** What a parked message costs: its body and header text (UTF-16 units, close to bytes for headers). */
function parkedSize(message: BrokerMessage): number {
  let bytes = message.body.length;
  for (const [name, value] of Object.entries(message.headers)) bytes += name.length + value.length + 2;
  return bytes;
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
  readonly #queues = new Map<string, QueueState>();
  /** Bytes of messages waiting in queues, in all and by sender. */
  #parkedBytes = 0;
  readonly #parkedBySender = new Map<string, number>();
  readonly #sizes = new WeakMap<BrokerMessage, number>();

  constructor(protected override readonly limits: SimpleBrokerLimits) {
    super(limits);
  }

  subscribe(subscriber: Subscriber, request: SubscribeRequest): void {
    this.newSubscription(subscriber, request);
    if (isQueue(request.destination)) this.#drain(request.destination);
  }

  publish(message: BrokerMessage): void {
    const { destination } = message;
    if (!isQueue(destination)) return this.fanOut(destination, message);
    const subscriptions = this.registry.ofDestination(destination);
    // A per-session queue with no subscriber has nobody who could ever read it (Spring's broker drops these too).
    if (subscriptions.length === 0 && isUserQueue(destination)) return;
    let queue = this.#queues.get(destination);
    if (queue === undefined || queue.pending.length === 0) {
      // Nothing waits ahead of it: the next ready subscriber takes it now, as #drain would. A
      // queue with one subscriber (every /user queue) has no turn to keep, and needs no state.
      const subscription =
        subscriptions.length === 1
          ? this.#takes(subscriptions[0]!, message)
          : this.#nextReady((queue ??= this.#queue(destination)), subscriptions, message);
      if (subscription) return this.deliver(subscription, message, false);
    }
    queue ??= this.#queue(destination);
    if (queue.pending.length >= this.limits.maxQueueDepth) {
      throw new StompRtcError(
        'QUEUE_FULL',
        `${destination} holds ${this.limits.maxQueueDepth} undelivered messages (MAX_QUEUE_DEPTH)`,
      );
    }
    const entry: Pending = { message, redelivered: false, parked: false };
    queue.pending.push(entry);
    this.#drain(destination);
    // Only a message that stays queued (no consumer took it at once) is parked and counts against the caps.
    if (queue.pending.at(-1) !== entry) return;
    this.#park(entry);
    if (message.sender !== undefined) this.#checkParkedBytes(destination, queue, entry);
  }

  async close(): Promise<void> {
    this.#queues.clear();
    this.#parkedBytes = 0;
    this.#parkedBySender.clear();
  }

  /** Refuses (and takes back) a just-queued message that puts the queued bytes over a cap. */
  #checkParkedBytes(destination: string, queue: QueueState, entry: Pending): void {
    const sender = entry.message.sender!;
    const { maxQueuedBytes, maxQueuedBytesPerSession } = this.limits;
    const overall = this.#parkedBytes > maxQueuedBytes;
    if (!overall && (this.#parkedBySender.get(sender) ?? 0) <= maxQueuedBytesPerSession) return;
    queue.pending.pop();
    this.#unpark(entry);
    const size = this.#sizes.get(entry.message)!;
    throw new StompRtcError(
      'QUEUE_BYTES_EXCEEDED',
      overall
        ? `queues hold ${this.#parkedBytes} undelivered bytes; ${size} more from ${destination} would pass ` +
            `MAX_QUEUED_BYTES (${maxQueuedBytes})`
        : `this session's messages waiting in queues would pass MAX_QUEUED_BYTES_PER_SESSION ` +
            `(${maxQueuedBytesPerSession} bytes) with ${size} more`,
    );
  }

  #park(entry: Pending): void {
    const message = (entry.message = retained(entry.message));
    entry.parked = true;
    let size = this.#sizes.get(message);
    if (size === undefined) this.#sizes.set(message, (size = parkedSize(message)));
    this.#parkedBytes += size;
    const { sender } = message;
    if (sender !== undefined) this.#parkedBySender.set(sender, (this.#parkedBySender.get(sender) ?? 0) + size);
  }

  #unpark(entry: Pending): void {
    if (!entry.parked) return;
    const { message } = entry;
    entry.parked = false;
    const size = this.#sizes.get(message) ?? 0;
    this.#parkedBytes -= size;
    if (message.sender === undefined) return;
    const left = (this.#parkedBySender.get(message.sender) ?? 0) - size;
    if (left > 0) this.#parkedBySender.set(message.sender, left);
    else this.#parkedBySender.delete(message.sender);
  }

  /** Deliveries and destinations held, for /metrics and leak tests. */
  stats(): { destinations: number; queuedMessages: number; queuedBytes: number; unacked: number } {
    let queuedMessages = 0;
    for (const queue of this.#queues.values()) queuedMessages += queue.pending.length;
    const destinations = this.registry.destinationCount;
    return { destinations, queuedMessages, queuedBytes: this.#parkedBytes, unacked: this.unackedCount };
  }

  protected settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void {
    if (!isQueue(subscription.destination)) return;
    if (outcome === 'nack') this.#requeue(subscription.destination, deliveries);
    else this.#drain(subscription.destination);
  }

  protected subscriptionRemoved(subscription: Subscription, unacked: Delivery[]): void {
    if (!isQueue(subscription.destination)) return;
    if (unacked.length > 0) this.#requeue(subscription.destination, unacked);
    else this.#drain(subscription.destination);
  }

  /** Returned messages go to the head of the queue, in their original order, marked redelivered. */
  #requeue(destination: string, deliveries: Delivery[]): void {
    if (deliveries.length === 0) return;
    // A per-session queue whose session is gone has nobody left to redeliver to.
    if (isUserQueue(destination) && this.registry.ofDestination(destination).length === 0) return;
    const queue = this.#queue(destination);
    const entries = deliveries.map(({ message }): Pending => ({ message, redelivered: true, parked: false }));
    queue.pending.unshift(...entries);
    for (const entry of entries) this.#park(entry);
    this.#drain(destination);
  }

  /**
   * Hands out queued messages in order. A message no ready subscriber can carry (a header a STOMP
   * 1.0 session cannot receive) stays queued for one that can, and does not hold up those behind it.
   */
  #drain(destination: string): void {
    const queue = this.#queues.get(destination);
    if (!queue) return;
    const subscriptions = this.registry.ofDestination(destination);
    let index = 0;
    while (index < queue.pending.length && subscriptions.some((s) => this.#ready(s))) {
      const subscription = this.#nextReady(queue, subscriptions, queue.pending[index]!.message);
      if (!subscription) {
        index++;
        continue;
      }
      const entry = index === 0 ? queue.pending.shift()! : queue.pending.splice(index, 1)[0]!;
      this.#unpark(entry);
      this.deliver(subscription, entry.message, entry.redelivered);
    }
    // The state (and its round-robin cursor) lives while the queue has messages or subscribers.
    if (queue.pending.length === 0 && this.registry.ofDestination(destination).length === 0)
      this.#queues.delete(destination);
  }

  /** Round robin over subscribers that can take another message (client-ack ones have a cap) and can carry it. */
  #nextReady(
    queue: QueueState,
    subscriptions: readonly Subscription[],
    message: BrokerMessage,
  ): Subscription | undefined {
    for (let tried = 0; tried < subscriptions.length; tried++) {
      const index = (queue.next + tried) % subscriptions.length;
      const subscription = subscriptions[index]!;
      if (this.#takes(subscription, message)) {
        queue.next = index + 1;
        return subscription;
      }
    }
    return undefined;
  }

  /** The subscription, when it can take another message and carry this one. */
  #takes(subscription: Subscription, message: BrokerMessage): Subscription | undefined {
    return this.#ready(subscription) && this.carries(subscription, message) ? subscription : undefined;
  }

  #ready(subscription: Subscription): boolean {
    return subscription.ack === 'auto' || subscription.unacked.size < this.limits.maxUnackedPerSubscription;
  }

  #queue(destination: string): QueueState {
    let queue = this.#queues.get(destination);
    if (!queue) this.#queues.set(destination, (queue = { pending: [], next: 0 }));
    return queue;
  }
}
