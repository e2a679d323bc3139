/**
 * Area under the ROC curve of `scores` for telling `positive` from the rest: the probability that
 * a random positive outscores a random negative, ties counting half (the Mann-Whitney statistic,
 * from average ranks, as scikit-learn's roc_auc_score).
 */
export function rocAuc(truth: readonly boolean[], scores: readonly number[]): number {
  if (truth.length !== scores.length) throw new Error(`ROC AUC: ${truth.length} labels but ${scores.length} scores`);
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average 1-based rank of the tie group
    for (let k = i; k <= j; k++) {
      if (!truth[order[k]]) continue;
      pos++;
      rankSum += rank;
    }
    i = j + 1;
  }
  const neg = truth.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean of the recalls of both classes (scikit-learn's balanced_accuracy_score for two classes). */
export function balancedAccuracy(truth: readonly boolean[], predicted: readonly boolean[]): number {
  let tp = 0;
  let p = 0;
  let tn = 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) {
    if (truth[i]) {
      p++;
      if (predicted[i]) tp++;
    } else {
      n++;
      if (!predicted[i]) tn++;
    }
  }
  return (tp / p + tn / n) / 2;
}
