/**
 * Channel labels differ in decoration between files and devices ("C3..", "EEG C3", "c3"):
 * normalise them before comparing so configs can name channels plainly.
 */
export function normaliseLabel(label: string): string {
  return label
    .trim()
    .replace(/^EEG[\s-]+/i, '')
    .replace(/[.\s]+$/g, '')
    .toUpperCase();
}

/** Indices of `wanted` labels in `available`; throws naming the labels that are missing. */
export function findChannels(available: readonly string[], wanted: readonly string[]): number[] {
  const index = new Map<string, number>();
  available.forEach((label, i) => {
    const key = normaliseLabel(label);
    if (!index.has(key)) index.set(key, i);
  });
  const missing: string[] = [];
  const found = wanted.map((w) => {
    const i = index.get(normaliseLabel(w));
    if (i === undefined) missing.push(w);
    return i ?? -1;
  });
  if (missing.length > 0) {
    throw new Error(`channel(s) not in stream: ${missing.join(', ')} (stream has ${available.join(', ')})`);
  }
  return found;
}
