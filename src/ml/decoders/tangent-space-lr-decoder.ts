import { LogisticRegression, type LogisticRegressionState } from '../logistic-regression.js';
import { euclideanMean } from '../riemann/riemann-mean.js';
import { TangentSpace, tangentLength } from '../riemann/tangent-space.js';
import { CovarianceFrontEnd, type CovarianceFrontEndState } from './covariance-front-end.js';
import type { Decoder, DecoderState, FitOptions, SignalBlock } from './decoder.js';
import type { DecoderSpec } from './decoder-spec.js';

type Spec = Extract<DecoderSpec, { kind: 'tangent-space-lr' }>;

/**
 * Shrunk trial covariances mapped to the tangent space at their Riemannian mean (Barachant et al.
 * 2012), then L2 logistic regression: pyRiemann's TS+LR. With re-centring the reference is the
 * identity, each session having been whitened by its own mean.
 */
export class TangentSpaceLrDecoder implements Decoder {
  readonly kind = 'tangent-space-lr' as const;
  readonly frontEnd: CovarianceFrontEnd;
  readonly tangent: TangentSpace;
  readonly lr: LogisticRegression;
  private readonly vector: Float64Array;

  constructor(
    readonly channels: number,
    state: { covariance: CovarianceFrontEndState; reference: number[]; lr: LogisticRegressionState },
  ) {
    this.frontEnd = new CovarianceFrontEnd(channels, state.covariance);
    this.tangent = new TangentSpace(channels, Float64Array.from(state.reference));
    this.lr = new LogisticRegression(state.lr);
    this.vector = new Float64Array(tangentLength(channels));
  }

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, spec: Spec, opts: FitOptions = {}): TangentSpaceLrDecoder {
    const { frontEnd, covs } = CovarianceFrontEnd.fit(blocks, channels, spec.estimator, spec.recenter, opts.recenterOn);
    const tangent = spec.recenter
      ? new TangentSpace(channels, identity(channels))
      : spec.reference === 'euclid'
        ? new TangentSpace(channels, euclideanMean(covs, channels))
        : TangentSpace.fit(covs, channels);
    const vectors = covs.map((c) => tangent.transform(c));
    const lr = LogisticRegression.fit(vectors, labels, { c: spec.c });
    return new TangentSpaceLrDecoder(channels, { covariance: frontEnd.state, reference: Array.from(tangent.reference), lr: lr.state });
  }

  get classes(): readonly string[] {
    return this.lr.classes;
  }

  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    this.tangent.transform(this.frontEnd.covariance(block), this.vector);
    return this.lr.probabilities(this.vector, out);
  }

  recenterOn(blocks: readonly SignalBlock[]): void {
    this.frontEnd.recenterOn(blocks);
  }

  toJSON(): DecoderState {
    return {
      kind: this.kind,
      channels: this.channels,
      covariance: this.frontEnd.state,
      reference: Array.from(this.tangent.reference),
      lr: this.lr.state,
    };
  }
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}
