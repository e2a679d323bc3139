/** Options of a selection task (see the `selection` settings). */
export interface SelectionOptions {
  /** Flash marker value -> the item(s) it highlights. */
  readonly items: Readonly<Record<string, string | readonly string[]>>;
  readonly threshold: number;
  readonly maxRepetitions: number;
  readonly minRepetitions: number;
}

export interface SelectionState {
  /** Posterior probability of each item being the one attended. */
  readonly posteriors: Record<string, number>;
  /** Fewest flashes any item has had since the last decision. */
  readonly repetitions: number;
}

/**
 * Bayesian accumulation of flash evidence over the items of a selection (a speller, an item grid):
 * a flash with target log-odds s adds the log-likelihood ratio s - (prior log-odds of a target in
 * training) to every item it highlighted; the posteriors are the softmax of the sums (flat prior).
 * A decision falls when one posterior reaches the threshold (dynamic stopping) or every item has
 * flashed `maxRepetitions` times, never before `minRepetitions`; then the evidence starts afresh.
 */
export class SelectionEvidence {
  readonly items: readonly string[];
  private readonly logEvidence: Float64Array;
  private readonly flashes: Int32Array;
  private readonly highlight = new Map<string, number[]>();

  constructor(
    private readonly opts: SelectionOptions,
    private readonly priorLogOdds: number,
  ) {
    const items = new Set<string>();
    for (const v of Object.values(opts.items)) for (const i of typeof v === 'string' ? [v] : v) items.add(i);
    this.items = [...items];
    for (const [marker, v] of Object.entries(opts.items))
      this.highlight.set(
        marker,
        (typeof v === 'string' ? [v] : v).map((i) => this.items.indexOf(i)),
      );
    this.logEvidence = new Float64Array(this.items.length);
    this.flashes = new Int32Array(this.items.length);
  }

  /** Whether `marker` is one of the task's flashes. */
  has(marker: string): boolean {
    return this.highlight.has(marker);
  }

  /** Adds one scored flash; the new state, and the chosen item when a decision falls. */
  add(marker: string, score: number): SelectionState & { decided?: string } {
    const lit = this.highlight.get(marker);
    if (!lit) throw new Error(`selection: marker "${marker}" highlights no item`);
    const llr = score - this.priorLogOdds;
    for (const i of lit) {
      this.logEvidence[i] += llr;
      this.flashes[i]++;
    }
    const state = this.state();
    const best = this.items.reduce((a, b) => (state.posteriors[b] > state.posteriors[a] ? b : a));
    const ready = state.repetitions >= this.opts.minRepetitions && (state.posteriors[best] >= this.opts.threshold || state.repetitions >= this.opts.maxRepetitions);
    if (!ready) return state;
    this.logEvidence.fill(0);
    this.flashes.fill(0);
    return { ...state, decided: best };
  }

  private state(): SelectionState {
    let max = -Infinity;
    for (const v of this.logEvidence) max = Math.max(max, v);
    let sum = 0;
    for (const v of this.logEvidence) sum += Math.exp(v - max);
    const posteriors: Record<string, number> = {};
    this.items.forEach((item, i) => (posteriors[item] = Math.exp(this.logEvidence[i] - max) / sum));
    let repetitions = Infinity;
    for (const f of this.flashes) repetitions = Math.min(repetitions, f);
    return { posteriors, repetitions };
  }
}
