import { describe, expect, it } from 'vitest';
import { ConstantStrings } from '../../shared/src/stomp/constant-strings.js';

describe('ConstantStrings', () => {
  const names = new ConstantStrings(['to', 'id', 'room', 'from', 'destination']);

  it('gives the constant for an equal string built at run time', () => {
    const decoded = ['ro', 'om'].join('');
    expect(names.get(decoded)).toBe('room');
    expect(names.has(decoded)).toBe(true);
    // Strings of one length share a bucket: each is found, not just the first.
    expect(names.get(['i', 'd'].join(''))).toBe('id');
    expect(names.get(['fr', 'om'].join(''))).toBe('from');
  });

  it('gives undefined for a string it does not hold, of a known length or not', () => {
    expect(names.get('rooms')).toBeUndefined();
    expect(names.get('roam')).toBeUndefined();
    expect(names.get('')).toBeUndefined();
    expect(names.has('t')).toBe(false);
  });
});
