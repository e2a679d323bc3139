import { expect } from 'vitest';

/**
 * Vitest's asymmetric matchers for a field of an expected object. Vitest types them `any` so that
 * they fit any field; these hand them over as `unknown`, which fits a field of `toEqual` or
 * `toMatchObject` just as well without letting `any` into the test.
 */
export const like = {
  any: (type: unknown): unknown => expect.any(type),
  stringMatching: (pattern: string | RegExp): unknown => expect.stringMatching(pattern),
  stringContaining: (text: string): unknown => expect.stringContaining(text),
  arrayContaining: (items: unknown[]): unknown => expect.arrayContaining(items),
  closeTo: (value: number, digits?: number): unknown => expect.closeTo(value, digits),
};
