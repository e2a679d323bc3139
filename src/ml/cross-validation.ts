import { Random } from '../util/random.js';

export interface Split {
  readonly train: number[];
  readonly test: number[];
}

/**
 * Random stratified train/test splits (scikit-learn's StratifiedShuffleSplit idea): each split
 * puts round(testFraction * n_k) trials of every class k in the test set, chosen by a seeded
 * shuffle, and the rest in the training set.
 */
export function stratifiedShuffleSplits(labels: readonly string[], splits: number, testFraction: number, seed: number): Split[] {
  if (!Number.isInteger(splits) || splits < 1) throw new Error(`folds must be a positive integer, got ${splits}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be in (0, 1), got ${testFraction}`);
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  for (const [cls, idx] of byClass) {
    if (idx.length < 2) throw new Error(`class "${cls}" has ${idx.length} trial(s); at least 2 are needed to split`);
  }
  const rng = new Random(seed);
  const out: Split[] = [];
  for (let k = 0; k < splits; k++) {
    const train: number[] = [];
    const test: number[] = [];
    for (const idx of byClass.values()) {
      const shuffled = rng.shuffle([...idx]);
      const nTest = Math.min(idx.length - 1, Math.max(1, Math.round(testFraction * idx.length)));
      test.push(...shuffled.slice(0, nTest));
      train.push(...shuffled.slice(nTest));
    }
    out.push({ train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) });
  }
  return out;
}

/** Fraction of equal entries. */
export function accuracy(truth: readonly string[], predicted: readonly string[]): number {
  if (truth.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) ok++;
  return ok / truth.length;
}

/** Cohen's kappa: agreement beyond chance between truth and prediction. */
export function cohenKappa(truth: readonly string[], predicted: readonly string[]): number {
  const classes = [...new Set([...truth, ...predicted])];
  const n = truth.length;
  const po = accuracy(truth, predicted);
  let pe = 0;
  for (const c of classes) {
    const a = truth.filter((t) => t === c).length / n;
    const b = predicted.filter((p) => p === c).length / n;
    pe += a * b;
  }
  return pe === 1 ? 1 : (po - pe) / (1 - pe);
}
