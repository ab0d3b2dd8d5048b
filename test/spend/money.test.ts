import { describe, expect, it } from 'vitest';
import { fromMicros, micros, positivePrice, usd } from '../../src/spend/money.js';

describe('amounts in micro-dollars', () => {
  it('converts exactly, sub-cent prices included', () => {
    expect(micros(25)).toBe(25_000_000);
    expect(micros(0.004)).toBe(4_000);
    expect(micros(0.1 + 0.2)).toBe(300_000);
    expect(micros(0.0000014)).toBe(1);
    expect(fromMicros(4_000)).toBe(0.004);
    expect(fromMicros(25_000_000)).toBe(25);
  });

  it.each<[unknown, number | undefined]>([
    [25, 25],
    [0.004, 0.004],
    ['0.004', 0.004],
    [' 12.5 ', 12.5],
    ['', undefined],
    ['   ', undefined],
    ['abc', undefined],
    [0, undefined],
    ['0', undefined],
    [-1, undefined],
    ['-1', undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['Infinity', undefined],
    [null, undefined],
    [undefined, undefined],
    [true, undefined],
    [{ amount: 1 }, undefined],
  ])('reads the price %j as %s', (value, expected) => {
    expect(positivePrice(value)).toBe(expected);
  });

  it.each<[number, string]>([
    [25, '$25.00'],
    [12.5, '$12.50'],
    [0, '$0.00'],
    [0.01, '$0.01'],
    [0.004, '$0.004'],
    [0.0125, '$0.0125'],
    [1.000001, '$1.000001'],
    [0.0000014, '$0.000001'],
  ])('writes %s as %s', (amount, text) => {
    expect(usd(amount)).toBe(text);
  });
});
