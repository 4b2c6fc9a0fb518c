import type { Subscription } from './types.js';

/**
 * Subscriptions indexed both ways: by destination for dispatch, by session for clean-up in
 * O(subscriptions of that session) when it goes away.
 */
export class SubscriptionRegistry {
  readonly #byDestination = new Map<string, Subscription[]>();
  readonly #bySession = new Map<string, Map<string, Subscription>>();

  add(subscription: Subscription): void {
    const { subscriber, id, destination } = subscription;
    let ofSession = this.#bySession.get(subscriber.sessionId);
    if (!ofSession) this.#bySession.set(subscriber.sessionId, (ofSession = new Map<string, Subscription>()));
    ofSession.set(id, subscription);
    const list = this.#byDestination.get(destination);
    if (list) list.push(subscription);
    else this.#byDestination.set(destination, [subscription]);
  }

  get(sessionId: string, subscriptionId: string): Subscription | undefined {
    return this.#bySession.get(sessionId)?.get(subscriptionId);
  }

  remove(sessionId: string, subscriptionId: string): Subscription | undefined {
    const ofSession = this.#bySession.get(sessionId);
    const subscription = ofSession?.get(subscriptionId);
    if (!ofSession || !subscription) return undefined;
    ofSession.delete(subscriptionId);
    if (ofSession.size === 0) this.#bySession.delete(sessionId);
    const list = this.#byDestination.get(subscription.destination);
    if (list) {
      const rest = list.filter((s) => s !== subscription);
      if (rest.length === 0) this.#byDestination.delete(subscription.destination);
      else this.#byDestination.set(subscription.destination, rest);
    }
    return subscription;
  }

  ofSession(sessionId: string): Subscription[] {
    return [...(this.#bySession.get(sessionId)?.values() ?? [])];
  }

  ofDestination(destination: string): readonly Subscription[] {
    return this.#byDestination.get(destination) ?? [];
  }

  /** Every session holding at least one subscription. */
  sessionIds(): string[] {
    return [...this.#bySession.keys()];
  }

  get destinationCount(): number {
    return this.#byDestination.size;
  }
}
