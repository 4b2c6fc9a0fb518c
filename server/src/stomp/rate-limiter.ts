/** A token bucket: `ratePerSecond` sustained, up to `burst` at once. */
export class RateLimiter {
  #tokens: number;
  #last = performance.now();

  readonly #ratePerSecond: number;
  readonly #burst: number;

  constructor(ratePerSecond: number, burst: number) {
    this.#ratePerSecond = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
  }

  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is there). */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#ratePerSecond) * 1000);
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#ratePerSecond);
    this.#last = now;
  }
}
