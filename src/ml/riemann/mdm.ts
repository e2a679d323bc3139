import { SpdOps } from '../linalg/spd-ops.js';
import { softmaxInPlace } from '../softmax.js';
import { riemannMean } from './riemann-mean.js';

export interface MdmState {
  readonly classes: readonly string[];
  /** One n x n class mean per class, row-major. */
  readonly means: number[][];
}

/**
 * Minimum distance to mean (Barachant et al. 2012): each class is summarised by the Riemannian
 * mean of its training covariances; a trial goes to the class whose mean is nearest in the
 * affine-invariant metric. Probabilities are softmax(-d²), as pyRiemann gives them.
 */
export class Mdm {
  private readonly ops: SpdOps;
  private readonly whiteners: Float64Array[];
  private readonly work: Float64Array;

  constructor(
    readonly n: number,
    readonly state: MdmState,
  ) {
    this.ops = new SpdOps(n);
    if (state.means.length !== state.classes.length) throw new Error(`MDM: ${state.means.length} means for ${state.classes.length} classes`);
    this.whiteners = state.means.map((m, k) => {
      if (m.length !== n * n) throw new Error(`MDM: mean ${k} must hold ${n * n} values`);
      return this.ops.invSqrt(m, new Float64Array(n * n));
    });
    this.work = new Float64Array(n * n);
  }

  static fit(covs: readonly Float64Array[], labels: readonly string[], n: number): Mdm {
    if (covs.length !== labels.length) throw new Error(`MDM: ${covs.length} covariances but ${labels.length} labels`);
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`MDM: at least two classes needed, got ${classes.join(', ') || 'none'}`);
    const ops = new SpdOps(n);
    const means = classes.map((cls) =>
      Array.from(
        riemannMean(
          covs.filter((_, i) => labels[i] === cls),
          n,
          {},
          ops,
        ),
      ),
    );
    return new Mdm(n, { classes, means });
  }

  get classes(): readonly string[] {
    return this.state.classes;
  }

  distances(cov: ArrayLike<number>, out: Float64Array = new Float64Array(this.classes.length)): Float64Array {
    for (let k = 0; k < this.whiteners.length; k++) out[k] = this.ops.distanceFromWhitener(this.whiteners[k], cov, this.work);
    return out;
  }

  probabilities(cov: ArrayLike<number>, out: Float64Array = new Float64Array(this.classes.length)): Float64Array {
    this.distances(cov, out);
    for (let k = 0; k < out.length; k++) out[k] = -out[k] * out[k];
    return softmaxInPlace(out);
  }
}
