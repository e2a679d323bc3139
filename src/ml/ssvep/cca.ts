import { choleskyInPlace } from '../linalg/cholesky.js';
import { SymmetricEigen } from '../linalg/symmetric-eigen.js';
import { centredBasis, referenceSignals } from './reference-signals.js';
import { centredScatter } from './window-covariance.js';

export interface CcaOptions {
  /** Stimulation frequency of each target, Hz. */
  readonly frequencies: readonly number[];
  /** Harmonics in each target's reference signals (sin and cos of each). */
  readonly harmonics: number;
  /** Window length in samples. */
  readonly samples: number;
  readonly sampleRate: number;
}

/**
 * Training-free SSVEP scoring by canonical correlation analysis (Lin et al. 2006): for each target,
 * the largest canonical correlation between the window's channels X and the target's reference
 * sinusoids Y. Y's centred column space is fixed, so its orthonormal basis Q_y (thin QR) is
 * computed once; per window the squared canonical correlations are the eigenvalues of
 * L^-1 (P^T P) L^-T with P = Q_y^T X and X_c^T X_c = L L^T (Cholesky): no per-window allocation
 * besides what the caller passes.
 */
export class CcaScorer {
  readonly targets: number;
  readonly samples: number;
  private readonly bases: Float64Array[];
  private readonly q: number;
  private channels = 0;
  private mean = new Float64Array(0);
  private scatter = new Float64Array(0);
  private proj = new Float64Array(0);
  private gram = new Float64Array(0);
  private whitened = new Float64Array(0);
  private eigen: SymmetricEigen | undefined;

  constructor(opts: CcaOptions) {
    if (opts.frequencies.length < 1) throw new Error('CCA: at least one target frequency is needed');
    this.targets = opts.frequencies.length;
    this.samples = opts.samples;
    this.q = 2 * opts.harmonics;
    // Sample-major bases: basis[s·q + j] is component s of basis vector j.
    this.bases = opts.frequencies.map((f) => Float64Array.from(centredBasis(referenceSignals(f, opts.harmonics, opts.samples, opts.sampleRate)).to1DArray()));
  }

  /**
   * The largest canonical correlation with every target, into `out` (length `targets`), for the
   * `channels` channels from `offset` of a sample-major window with `stride` values per sample.
   * A window without variance (all channels flat) scores 0 everywhere.
   */
  correlations(data: ArrayLike<number>, stride: number, offset: number, channels: number, out: Float64Array): Float64Array {
    const n = this.samples;
    if (data.length < n * stride) throw new Error(`CCA: window of ${Math.floor(data.length / stride)} samples, expected ${n}`);
    this.ensure(channels);
    const { mean, scatter, proj, gram, whitened, q } = this;
    centredScatter(data, n, stride, offset, channels, mean, scatter);
    if (!this.factor(scatter, channels)) return out.fill(0);
    for (let k = 0; k < this.targets; k++) {
      const basis = this.bases[k];
      // P = Q_y^T X (q x channels); Q_y's columns have zero mean, so X need not be centred here.
      proj.fill(0);
      for (let s = 0; s < n; s++) {
        const o = s * stride + offset;
        const b = s * q;
        for (let j = 0; j < q; j++) {
          const bj = basis[b + j];
          for (let c = 0; c < channels; c++) proj[j * channels + c] += bj * data[o + c];
        }
      }
      // G = L^-1 P^T: solve L G = P^T column by column (forward substitution).
      for (let j = 0; j < q; j++) {
        for (let i = 0; i < channels; i++) {
          let v = proj[j * channels + i];
          for (let m = 0; m < i; m++) v -= scatter[i * channels + m] * gram[m * q + j];
          gram[i * q + j] = v / scatter[i * channels + i];
        }
      }
      // W = G G^T (channels x channels): squared canonical correlations are its eigenvalues.
      for (let i = 0; i < channels; i++) {
        for (let m = 0; m <= i; m++) {
          let v = 0;
          for (let j = 0; j < q; j++) v += gram[i * q + j] * gram[m * q + j];
          whitened[i * channels + m] = v;
          whitened[m * channels + i] = v;
        }
      }
      const top = this.eigen!.decompose(whitened).values[channels - 1];
      out[k] = Math.sqrt(Math.min(1, Math.max(0, top)));
    }
    return out;
  }

  /** Cholesky of the scatter in place; a rank-deficient one (a flat channel) gets a tiny ridge. */
  private factor(scatter: Float64Array, channels: number): boolean {
    let trace = 0;
    for (let i = 0; i < channels; i++) trace += scatter[i * channels + i];
    if (!(trace > 0)) return false;
    const copy = this.whitened;
    copy.set(scatter);
    if (choleskyInPlace(scatter, channels) < 0) return true;
    scatter.set(copy);
    for (let i = 0; i < channels; i++) scatter[i * channels + i] += (1e-9 * trace) / channels;
    return choleskyInPlace(scatter, channels) < 0;
  }

  private ensure(channels: number): void {
    if (channels === this.channels) return;
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`CCA: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    this.mean = new Float64Array(channels);
    this.scatter = new Float64Array(channels * channels);
    this.proj = new Float64Array(this.q * channels);
    this.gram = new Float64Array(channels * this.q);
    this.whitened = new Float64Array(channels * channels);
    this.eigen = new SymmetricEigen(channels);
  }
}
