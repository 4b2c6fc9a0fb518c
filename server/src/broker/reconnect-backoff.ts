/**
 * Delays between attempts to reach RabbitMQ again: 250 ms doubling to 2 s, with jitter so nodes
 * that lost RabbitMQ together do not all return in the same instant. The cap keeps a node's
 * return within about 2 s of RabbitMQ's.
 */
export class ReconnectBackoff {
  static readonly FIRST_MS = 250;
  static readonly MAX_MS = 2_000;
  #attempt = 0;

  nextDelayMs(): number {
    const base = Math.min(ReconnectBackoff.FIRST_MS * 2 ** this.#attempt++, ReconnectBackoff.MAX_MS);
    return Math.round(base * (0.75 + Math.random() * 0.25));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
