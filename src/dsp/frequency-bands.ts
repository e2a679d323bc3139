/**
 * EEG frequency bands: the canonical five used across neurorx (signal monitor, emotion features)
 * and a validator for custom band lists.
 *
 * Edges are in Hz. Where a band's power is summed over spectral bins the convention is
 * `low <= f < high`, so adjacent bands (alpha 8-13, beta 13-30) never count a bin twice.
 */

/** Names of the canonical EEG bands, in order of frequency. */
export type BandName = 'delta' | 'theta' | 'alpha' | 'beta' | 'gamma';

/** A named frequency band, `low < high`, in Hz. */
export interface FrequencyBand {
  readonly name: string;
  readonly low: number;
  readonly high: number;
}

/** The canonical EEG bands, ordered: delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz. */
export const EEG_BANDS: readonly (FrequencyBand & { readonly name: BandName })[] = Object.freeze([
  Object.freeze({ name: 'delta', low: 1, high: 4 }),
  Object.freeze({ name: 'theta', low: 4, high: 8 }),
  Object.freeze({ name: 'alpha', low: 8, high: 13 }),
  Object.freeze({ name: 'beta', low: 13, high: 30 }),
  Object.freeze({ name: 'gamma', low: 30, high: 45 }),
] as const);

/** Band edges keyed by name, `{ delta: [1, 4], ... }` (a fresh object, in band order). */
export function bandEdges(bands: readonly FrequencyBand[] = EEG_BANDS): Record<string, [number, number]> {
  return Object.fromEntries(bands.map((b) => [b.name, [b.low, b.high]]));
}

/**
 * Checks a band list and returns a frozen copy of it. Each band needs a non-empty, unique name and
 * edges with `0 < low < high`; when `sampleRate` is given, `high` must also be below Nyquist
 * (`sampleRate / 2`). Errors name the option (`what`) and the offending band.
 */
export function validateBands(bands: readonly FrequencyBand[], sampleRate?: number, what = 'bands'): readonly FrequencyBand[] {
  // Checked as unknown: a JS caller may pass anything, and isArray would narrow `bands` itself to any[].
  const given: unknown = bands;
  if (!Array.isArray(given) || bands.length === 0) throw new Error(`${what} must be a non-empty list of { name, low, high } bands`);
  const seen = new Set<string>();
  const out: FrequencyBand[] = [];
  bands.forEach((b, i) => {
    const name = b?.name;
    if (typeof name !== 'string' || name.trim() === '') throw new Error(`${what}[${i}] needs a non-empty name`);
    if (seen.has(name)) throw new Error(`${what}: band "${name}" appears twice`);
    seen.add(name);
    const { low, high } = b;
    const edges = `[${String(low)}, ${String(high)}] Hz`;
    if (typeof low !== 'number' || typeof high !== 'number' || !Number.isFinite(low) || !Number.isFinite(high)) {
      throw new Error(`${what}: band "${name}" needs finite edges in Hz, got ${edges}`);
    }
    if (!(low > 0)) throw new Error(`${what}: band "${name}" ${edges} must have a positive low edge`);
    if (!(low < high)) throw new Error(`${what}: band "${name}" ${edges} must have low < high`);
    if (sampleRate !== undefined && !(high < sampleRate / 2)) {
      throw new Error(`${what}: band "${name}" ${edges} must end below Nyquist (${sampleRate / 2} Hz at ${sampleRate} Hz)`);
    }
    out.push(Object.freeze({ name, low, high }));
  });
  return Object.freeze(out);
}
