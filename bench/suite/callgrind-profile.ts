/**
 * Reads a callgrind dump into each function's self cost (the instructions it ran itself, its callees
 * not included), with V8's JIT-compiled functions named from the perf map the process wrote
 * (`--perf-basic-prof`): callgrind knows them only by address.
 *
 * The dump format (https://valgrind.org/docs/manual/cl-format.html): `fn=` starts a function's
 * cost lines, `<position> <cost>`; a `calls=` line says the next cost line is a call's inclusive
 * cost, which is the callee's, not the caller's. Names are compressed: `fn=(7) name` the first
 * time, `fn=(7)` after (cfn= shares the same table).
 */

/** Self cost by function name, for one dump. */
export function selfCosts(dump: string): Map<string, number> {
  const names = new Map<string, string>();
  const costs = new Map<string, number>();
  let current: string | undefined;
  let callCost = false;
  for (const line of dump.split('\n')) {
    if (line.startsWith('fn=')) {
      current = compressedName(line.slice(3), names);
      continue;
    }
    if (line.startsWith('cfn=')) {
      compressedName(line.slice(4), names);
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    if (!/^[0-9+*-]/.test(line)) continue;
    if (callCost) {
      callCost = false;
      continue;
    }
    const cost = Number(line.split(' ')[1]);
    if (current !== undefined && Number.isFinite(cost)) costs.set(current, (costs.get(current) ?? 0) + cost);
  }
  return costs;
}

/** `(7) name` defines id 7; `(7)` refers to it; a bare name is itself. */
function compressedName(text: string, names: Map<string, string>): string {
  const match = /^\((\d+)\)(?: (.*))?$/.exec(text);
  if (!match) return text;
  const [, id, name] = match;
  if (name !== undefined) names.set(id!, name);
  return names.get(id!) ?? `(${id})`;
}

interface CodeRange {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/** Looks up the JIT-compiled function at an address: `<start hex> <size hex> <name>` per line. */
export class PerfMap {
  readonly #ranges: CodeRange[];

  constructor(text: string) {
    this.#ranges = [];
    for (const line of text.split('\n')) {
      const [start, size, ...name] = line.split(' ');
      if (!start || !size || name.length === 0) continue;
      const from = parseInt(start, 16);
      this.#ranges.push({ start: from, end: from + parseInt(size, 16), name: name.join(' ') });
    }
    this.#ranges.sort((a, b) => a.start - b.start);
  }

  /** The function holding `address`, or undefined. Code moves: the last range written wins. */
  nameAt(address: number): string | undefined {
    let low = 0;
    let high = this.#ranges.length - 1;
    let found: CodeRange | undefined;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const range = this.#ranges[mid]!;
      if (range.start <= address) {
        found = range;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found && address < found.end ? found.name : undefined;
  }
}

/**
 * The costs with every `0x…` name that the map knows replaced by its function (V8 names them
 * `JS:*name file:line:column`, `*` for optimised code; the marker and the repository's path are
 * dropped), summed by name.
 */
export function named(costs: Map<string, number>, map: PerfMap, root: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [raw, cost] of costs) {
    const address = /^0x([0-9a-f]+)/.exec(raw);
    const jit = address ? map.nameAt(parseInt(address[1]!, 16)) : undefined;
    const name =
      jit === undefined
        ? raw
        : jit
            .replace(/^JS:[*~^]?/, '')
            .replaceAll(`file://${root}/`, '')
            .replaceAll(`${root}/`, '');
    out.set(name, (out.get(name) ?? 0) + cost);
  }
  return out;
}
