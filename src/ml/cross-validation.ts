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

/**
 * Deterministic stratified k-fold without shuffling: the r-th trial of each class (in recording
 * order) goes to fold r mod k. Every fold holds a time-spread, class-balanced sample, and the
 * assignment is simple enough to reproduce exactly in another tool (the MNE reference script
 * does), so two implementations are compared on the very same splits.
 */
export function interleavedStratifiedFolds(labels: readonly string[], folds: number): Split[] {
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`folds must be an integer >= 2, got ${folds}`);
  const counts = new Map<string, number>();
  const fold = labels.map((l) => {
    const r = counts.get(l) ?? 0;
    counts.set(l, r + 1);
    return r % folds;
  });
  for (const [cls, n] of counts) if (n < folds) throw new Error(`class "${cls}" has ${n} trial(s), fewer than ${folds} folds`);
  return Array.from({ length: folds }, (_, f) => ({
    train: fold.flatMap((g, i) => (g === f ? [] : [i])),
    test: fold.flatMap((g, i) => (g === f ? [i] : [])),
  }));
}

/**
 * Macro-averaged F1 over `classes`: the unweighted mean of each class's F1 (2PR / (P + R)). A class
 * that is neither in the truth nor predicted is left out (scikit-learn averages over the labels
 * present in either); one predicted but absent from the truth scores 0.
 */
export function macroF1(truth: readonly string[], predicted: readonly string[], classes: readonly string[]): number {
  let sum = 0;
  let counted = 0;
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i] === c;
      const p = predicted[i] === c;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    if (tp + fp + fn === 0) continue;
    sum += (2 * tp) / (2 * tp + fp + fn);
    counted++;
  }
  return counted === 0 ? NaN : sum / counted;
}

/**
 * Folds over groups (subjects): the groups are shuffled with `seed` and dealt round-robin into
 * `folds` folds; each split tests on one fold's groups and trains on the rest. `folds` at or above
 * the number of groups gives leave-one-group-out.
 */
export function groupFolds(groups: readonly string[], folds: number, seed: number): { train: string[]; test: string[] }[] {
  const unique = [...new Set(groups)];
  if (unique.length < 2) throw new Error(`at least two subjects are needed to hold some out, got ${unique.length}`);
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`folds must be an integer >= 2, got ${folds}`);
  const k = Math.min(folds, unique.length);
  const order = new Random(seed).shuffle([...unique]);
  return Array.from({ length: k }, (_, f) => ({
    test: order.filter((_, i) => i % k === f),
    train: order.filter((_, i) => i % k !== f),
  }));
}
