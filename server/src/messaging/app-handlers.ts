import type { StompFrame } from '../../../shared/src/stomp/frame.js';
import { classifyDestination } from './destinations.js';
import type { SessionContext } from './session-context.js';

/** Server code behind one `/app/...` destination. Throwing a StompRtcError refuses the frame. */
export type SendHandler = (session: SessionContext, frame: StompFrame) => void;

/**
 * Application hooks on subscriptions under a prefix: rooms use them so that SUBSCRIBE
 * `/topic/room/<id>` is a join. `check` runs before the broker subscription exists and may refuse
 * it; `subscribed` runs after it exists and may return a promise that rejects to refuse it after
 * all (a room's join decided by the shared presence), in which case the subscription is dropped.
 */
export interface SubscriptionHooks {
  readonly prefix: string;
  /**
   * The application sends every MESSAGE of these subscriptions itself (rooms: welcome and
   * presence from the shared presence), so the broker holds no subscription for them.
   */
  readonly servedByApp?: boolean;
  check?(session: SessionContext, destination: string, frame: StompFrame): void;
  subscribed?(
    session: SessionContext,
    subscriptionId: string,
    destination: string,
    frame: StompFrame,
  ): void | Promise<void>;
  unsubscribed?(
    session: SessionContext,
    subscriptionId: string,
    destination: string,
    reason: 'unsubscribe' | 'closed',
  ): void;
}

/** The table of `/app` destinations and subscription hooks the application registers. */
export class AppHandlers {
  readonly #sendHandlers = new Map<string, SendHandler>();
  readonly #hooks: SubscriptionHooks[] = [];

  onSend(destination: string, handler: SendHandler): void {
    // The router trusts a served destination without parsing it again.
    if (classifyDestination(destination) !== 'app') throw new Error(`${destination} is not an /app destination`);
    if (this.#sendHandlers.has(destination)) throw new Error(`${destination} already has a handler`);
    this.#sendHandlers.set(destination, handler);
  }

  onSubscription(hooks: SubscriptionHooks): void {
    this.#hooks.push(hooks);
  }

  sendHandler(destination: string): SendHandler | undefined {
    return this.#sendHandlers.get(destination);
  }

  hooksFor(destination: string): SubscriptionHooks | undefined {
    return this.#hooks.find((hooks) => destination.startsWith(hooks.prefix));
  }
}
