import { InvalidArgumentError } from 'commander';

/** An option that takes a whole number of at least `min`; a usage error naming the option otherwise. */
export const wholeNumber =
  (what: string, min = 0) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be a whole number of at least ${min}, got "${v}"`);
    return n;
  };

/** An option that takes a positive number. */
export const positiveNumber =
  (what: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number, got "${v}"`);
    return n;
  };

/** A command-line argument as a source URI: a URI stays one, a plain path (C:\\ too) becomes file:<path>. */
export function asSourceUri(arg: string): string {
  return /^[a-z]+:/.test(arg) && !/^[a-zA-Z]:[\\/]/.test(arg) ? arg : `file:${arg}`;
}
