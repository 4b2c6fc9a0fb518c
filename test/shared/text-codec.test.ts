import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../shared/src/text-codec.js';

describe('utf8Length', () => {
  it("counts the octets TextEncoder makes: 1 to 4 per code point, 3 for a lone surrogate's U+FFFD", () => {
    const samples = [
      '',
      'SEND\n',
      'é',
      '✓',
      '𝄞',
      'a\ud800b',
      '\udc00',
      'x\ud800',
      '\ud800\ud800\udc00',
      'é✓𝄞\u07ff\u0800\uffff',
    ];
    for (const sample of samples)
      expect(utf8Length(sample), JSON.stringify(sample)).toBe(new TextEncoder().encode(sample).length);
  });
});
