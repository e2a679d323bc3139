/** A decoder's verdict on one window of signal. */
export interface Decision {
  /** Running number of the decision in this pipeline run, from 0. */
  readonly seq: number;
  /** The most probable class (or the command mapped from it). */
  readonly label: string;
  /** Probability of every class, summing to 1. */
  readonly probabilities: Readonly<Record<string, number>>;
  /** Stream time (seconds) of the last sample of the window decided on. */
  readonly timestamp: number;
  /** Milliseconds from the source handing over that last sample to the decision being made. */
  readonly latencyMs: number;
}
