/**
 * A fixed set of strings (command and header names) that decoded text is matched against, to use
 * the constant in place of the fresh string: a constant is already in V8's string table, so as a
 * property key it costs no lookup there. Matched by length, then compared: a string fresh from the
 * wire has no hash yet, and computing one (as a Map lookup must) costs more than a comparison or two.
 */
export class ConstantStrings<T extends string = string> {
  readonly #byLength: (readonly T[] | undefined)[] = [];

  constructor(strings: Iterable<T>) {
    for (const string of strings) {
      const sameLength = this.#byLength[string.length] ?? [];
      this.#byLength[string.length] = [...sameLength, string];
    }
  }

  /** The constant equal to `text`, or undefined when there is none. */
  get(text: string): T | undefined {
    const candidates = this.#byLength[text.length];
    if (candidates === undefined) return undefined;
    for (const candidate of candidates) if (candidate === text) return candidate;
    return undefined;
  }

  has(text: string): text is T {
    return this.get(text) !== undefined;
  }
}
