/** docs/errors.md lists exactly the codes of ERROR_CATALOGUE, each with the right fatal column. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../shared/src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the table: | `CODE` | yes/no | meaning | what to do | */
const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(yes|no)\s*\|(.*)\|(.*)\|\s*$/gm)].map(
  ([, code, fatal, meaning, advice]) => ({
    code: code!,
    fatal: fatal === 'yes',
    meaning: meaning!.trim(),
    advice: advice!.trim(),
  }),
);

describe('docs/errors.md', () => {
  it('lists every catalogue code exactly once, and no other', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });

  it('says fatal for exactly the fatal codes', () => {
    for (const row of rows) {
      expect({ code: row.code, fatal: row.fatal }).toEqual({
        code: row.code,
        fatal: ERROR_CATALOGUE[row.code as keyof typeof ERROR_CATALOGUE].fatal,
      });
    }
  });

  it('gives each code a meaning and what the client should do', () => {
    for (const row of rows) {
      expect(row.meaning, row.code).not.toBe('');
      expect(row.advice, row.code).not.toBe('');
    }
  });
});
