/** scripts/codemods/private-fields.ts on a small project of its own: what it converts, what it leaves and why. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SHAPES = `
export class Base {
  constructor(readonly base: number) {}
}

export class Counter extends Base {
  private count = 0;
  private static made = 0;

  constructor(private readonly step: number, private label?: string) {
    super(step * 10);
    Counter.made++;
    this.count = step;
  }

  private get doubled(): number { return this.count * 2; }
  private set doubled(value: number) { this.count = value / 2; }

  private bump(): void { this.count += this.step; }

  /** A private member of another instance is fine for #. */
  sum(other: Counter): number {
    this.bump();
    this.doubled = this.doubled + 2;
    return this.count + other.count + (this.label?.length ?? 0) + Counter.made;
  }
}

export class Peeked {
  private secret = 1;
  read(): number { return this['secret']; }
}

export class Poked {
  private hidden = 2;
  value(): number { return this.hidden; }
}

export class Clash {
  readonly #send = 'button';
  constructor(private readonly send: () => string) {}
  run(): string { return this.send() + this.#send; }
}

export class Factory {
  private constructor(readonly id: number) {}
  static make(): Factory { return new Factory(7); }
}
`;

const POKER = `
import { Poked } from './shapes.js';
export const peek = (p: Poked): number => (p as unknown as { hidden: number }).hidden;
`;

const RUN = `
import { Counter } from './shapes.js';
const a = new Counter(1, 'ab');
const b = new Counter(5);
console.log(JSON.stringify({ sum: a.sum(b), keys: Object.keys(a) }));
`;

let dir: string;
let report: string;
let converted: string;

function tsx(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', cwd: process.cwd() });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'private-fields-'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, noEmit: true, types: [] },
      include: ['*.ts'],
    }),
  );
  writeFileSync(join(dir, 'shapes.ts'), SHAPES);
  writeFileSync(join(dir, 'poker.ts'), POKER);
  writeFileSync(join(dir, 'run.ts'), RUN);
  const result = tsx('scripts/codemods/private-fields.ts', '--project', join(dir, 'tsconfig.json'));
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  report = result.stdout;
  converted = readFileSync(join(dir, 'shapes.ts'), 'utf8');
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('private-fields codemod', () => {
  it('converts fields, statics, accessors, methods and parameter properties, with every reference', () => {
    expect(report).toMatch(
      /^converted 6 members in 1 files \(field: 2, accessor: 1, method: 1, parameter property: 2\)$/m,
    );
    expect(converted).toContain('#count = 0;');
    expect(converted).toContain('static #made = 0;');
    expect(converted).toContain('get #doubled(): number');
    expect(converted).toContain('set #doubled(value: number)');
    expect(converted).toContain('#bump(): void { this.#count += this.#step; }');
    expect(converted).toContain('return this.#count + other.#count + (this.#label?.length ?? 0) + Counter.#made;');
    expect(converted).not.toMatch(/private (count|made|step|label|doubled|bump)/);
  });

  it('declares parameter properties as fields and assigns them after super()', () => {
    expect(converted).toContain('readonly #step: number;');
    expect(converted).toContain('#label: (string) | undefined;');
    expect(converted).toMatch(
      /constructor\(step: number, label\?: string\) \{\n {4}super\(step \* 10\);\nthis\.#step = step;\nthis\.#label = label;/,
    );
  });

  it('skips what # would change or what it cannot check, and says why', () => {
    expect(report).toMatch(/Peeked\.secret: reached where TypeScript cannot follow it .* at .*shapes\.ts:31/);
    expect(report).toMatch(/Poked\.hidden: reached where TypeScript cannot follow it .* at .*poker\.ts:3/);
    expect(report).toMatch(/Clash\.send: the class already has #send/);
    expect(converted).toContain("private secret = 1;\n  read(): number { return this['secret']; }");
    expect(converted).toContain('private hidden = 2;');
    expect(converted).toContain('private constructor(readonly id: number) {}');
  });

  it('leaves code that typechecks and runs as before, with the private state out of Object.keys', () => {
    const check = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', join(dir, 'tsconfig.json')], {
      encoding: 'utf8',
    });
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
    const run = tsx(join(dir, 'run.ts'));
    expect(run.stderr).toBe('');
    // a: count 1 → bump 2 → doubled (4 + 2) / 2 = 3; b: count 5; label 'ab' = 2; made = 2.
    expect(JSON.parse(run.stdout)).toEqual({ sum: 3 + 5 + 2 + 2, keys: ['base'] });
  });
});
