import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLimits } from '../src/decompress/options.js';
import { pdfSettings } from '../src/integrations/pdfkit/options.js';
import { resolveImageOptions } from '../src/integrations/sharp/options.js';
import { resolveExtractOptions } from '../src/integrations/zip/options.js';
import { limitOption, ratioOption } from '../src/validate.js';

/** Every byte/count limit option of every capability, checked by one rule. */
const LIMITS: [string, string, (value: unknown) => unknown][] = [
  ['decompress', 'maxOutputBytes', (v) => resolveLimits({ maxOutputBytes: v as number })],
  ['zip', 'maxTotalBytes', (v) => resolveExtractOptions({ maxTotalBytes: v as number })],
  ['zip', 'maxEntries', (v) => resolveExtractOptions({ maxEntries: v as number })],
  ['zip', 'maxEntryBytes', (v) => resolveExtractOptions({ maxEntryBytes: v as number })],
  ['zip', 'maxArchiveBytes', (v) => resolveExtractOptions({ maxArchiveBytes: v as number })],
  ['sharp', 'maxInputBytes', (v) => resolveImageOptions({ maxInputBytes: v })],
  ['sharp', 'maxOutputBytes', (v) => resolveImageOptions({ maxOutputBytes: v })],
  ['pdfkit', 'maxBytes', (v) => pdfSettings({ maxBytes: v as number })],
];

describe('limitOption: one rule for byte and count limits', () => {
  it('takes the fallback for undefined, integers from 0 up to 2^53 - 1, and Infinity', () => {
    assert.equal(limitOption('x', undefined, 7), 7);
    for (const v of [0, 1, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      assert.equal(limitOption('x', v, 7), v);
    }
  });

  for (const [capability, name, resolve] of LIMITS) {
    it(`${capability} options.${name} refuses what limitOption refuses, in the same words`, () => {
      for (const v of [0, 4096, Number.POSITIVE_INFINITY]) resolve(v);
      for (const v of [-1, 1.5, Number.NaN, 2 ** 53, Number.NEGATIVE_INFINITY]) {
        assert.throws(() => resolve(v), {
          name: 'RangeError',
          message: `options.${name} must be a non-negative integer or Infinity, got ${v}`,
        });
      }
      assert.throws(() => resolve('1'), {
        name: 'TypeError',
        message: `options.${name} must be a number, got string`,
      });
    });
  }
});

describe('ratioOption', () => {
  it('takes numbers >= 1 and Infinity; refuses less, NaN and non-numbers, naming the value', () => {
    assert.equal(ratioOption('maxRatio', undefined, 100), 100);
    for (const v of [1, 1.5, Number.POSITIVE_INFINITY]) assert.equal(ratioOption('r', v, 1), v);
    for (const resolve of [
      (v: unknown) => resolveLimits({ maxRatio: v as number }),
      (v: unknown) => resolveExtractOptions({ maxRatio: v as number }),
    ]) {
      for (const v of [0.5, 0, -1, Number.NaN]) {
        assert.throws(() => resolve(v), {
          name: 'RangeError',
          message: `options.maxRatio must be a number >= 1 or Infinity, got ${v}`,
        });
      }
      assert.throws(() => resolve('2'), {
        name: 'TypeError',
        message: 'options.maxRatio must be a number, got string',
      });
    }
  });
});
