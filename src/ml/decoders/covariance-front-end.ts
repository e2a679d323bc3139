import { CovarianceScratch, epochCovariance, type CovarianceEstimator } from '../riemann/epoch-covariance.js';
import { Recenter } from '../riemann/recenter.js';
import type { SignalBlock } from './decoder.js';

export interface CovarianceFrontEndState {
  estimator: CovarianceEstimator;
  /** The session mean covariances are whitened by (row-major), or null when not re-centring. */
  recenterMean: number[] | null;
}

/**
 * The shared input stage of the Riemannian decoders: one shrunk covariance per block, then,
 * when re-centring is on, whitening by the current session's mean so every session sits at the
 * identity. Buffers are reused across calls (the returned array is overwritten by the next call).
 */
export class CovarianceFrontEnd {
  private recenter: Recenter | null;
  private readonly raw: Float64Array;
  private readonly centred: Float64Array;
  private readonly scratch = new CovarianceScratch();

  constructor(
    readonly channels: number,
    readonly state: CovarianceFrontEndState,
  ) {
    this.raw = new Float64Array(channels * channels);
    this.centred = new Float64Array(channels * channels);
    this.recenter = state.recenterMean ? new Recenter(channels, Float64Array.from(state.recenterMean)) : null;
  }

  /**
   * Front end for training: with `recenter`, centred on the mean of `reference` (e.g. resting
   * data of the training session), by default on the training blocks themselves.
   */
  static fit(
    blocks: readonly SignalBlock[],
    channels: number,
    estimator: CovarianceEstimator,
    recenter: boolean,
    reference?: readonly SignalBlock[],
  ): { frontEnd: CovarianceFrontEnd; covs: Float64Array[] } {
    const raw = blocks.map((b) => epochCovariance(b, channels, estimator));
    if (!recenter) return { frontEnd: new CovarianceFrontEnd(channels, { estimator, recenterMean: null }), covs: raw };
    const r = Recenter.fit(reference && reference.length > 0 ? reference.map((b) => epochCovariance(b, channels, estimator)) : raw, channels);
    const frontEnd = new CovarianceFrontEnd(channels, { estimator, recenterMean: Array.from(r.mean) });
    return { frontEnd, covs: raw.map((c) => r.apply(c)) };
  }

  get recentering(): boolean {
    return this.recenter !== null;
  }

  /** Re-centre on another session's blocks (no labels needed). */
  recenterOn(blocks: readonly SignalBlock[]): void {
    if (!this.recenter) throw new Error('this decoder was trained without re-centring (set "recenter": true to adapt it to new sessions)');
    if (blocks.length === 0) throw new Error('re-centring needs at least one block of the new session');
    const r = Recenter.fit(
      blocks.map((b) => epochCovariance(b, this.channels, this.state.estimator)),
      this.channels,
    );
    this.recenter = r;
    this.state.recenterMean = Array.from(r.mean);
  }

  covariance(block: SignalBlock): Float64Array {
    epochCovariance(block, this.channels, this.state.estimator, this.raw, this.scratch);
    return this.recenter ? this.recenter.apply(this.raw, this.centred) : this.raw;
  }
}
