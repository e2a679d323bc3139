/**
 * Mutual information between a continuous feature and discrete class labels,
 * I(f; ω) = H(ω) − H(ω | f), with p(f | ω) estimated by Gaussian Parzen windows (bandwidth by
 * Silverman's rule on each class), as in FBCSP's MIBIF selection (Ang et al. 2008). In nats.
 */
export function mutualInformation(values: ArrayLike<number>, labels: readonly string[]): number {
  const n = values.length;
  if (n !== labels.length) throw new Error(`mutual information: ${n} values but ${labels.length} labels`);
  const classes = [...new Set(labels)];
  const members = classes.map((c) => labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0));
  const priors = members.map((m) => m.length / n);
  const widths = members.map((m) => {
    const mean = m.reduce((a, i) => a + values[i], 0) / m.length;
    const sd = Math.sqrt(m.reduce((a, i) => a + (values[i] - mean) ** 2, 0) / Math.max(1, m.length - 1));
    return Math.max(1e-12, sd * (4 / (3 * m.length)) ** 0.2);
  });
  let hClass = 0;
  for (const p of priors) if (p > 0) hClass -= p * Math.log(p);
  let hConditional = 0;
  const joint = new Float64Array(classes.length);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let k = 0; k < classes.length; k++) {
      const h = widths[k];
      let density = 0;
      for (const j of members[k]) {
        const z = (values[i] - values[j]) / h;
        density += Math.exp(-0.5 * z * z);
      }
      joint[k] = (priors[k] * density) / (members[k].length * h);
      total += joint[k];
    }
    for (let k = 0; k < classes.length; k++) {
      const post = total > 0 ? joint[k] / total : 1 / classes.length;
      if (post > 0) hConditional -= (post * Math.log(post)) / n;
    }
  }
  return Math.max(0, hClass - hConditional);
}

/** Indices of the `k` features with the highest mutual information with the labels, best first. */
export function selectByMutualInformation(features: readonly ArrayLike<number>[], labels: readonly string[], k: number): number[] {
  const p = features[0]?.length ?? 0;
  const scores = Array.from({ length: p }, (_, j) => ({
    j,
    mi: mutualInformation(
      features.map((f) => f[j]),
      labels,
    ),
  }));
  return scores
    .sort((a, b) => b.mi - a.mi || a.j - b.j)
    .slice(0, Math.min(k, p))
    .map((s) => s.j);
}
