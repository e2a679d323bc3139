import { Lda, type LdaState } from '../../src/ml/lda.js';
import { LogisticRegression, type LogisticRegressionState } from '../../src/ml/logistic-regression.js';
import { epochCovariance } from '../../src/ml/riemann/epoch-covariance.js';
import { TangentSpace, tangentLength } from '../../src/ml/riemann/tangent-space.js';
import { Xdawn, type XdawnState } from '../../src/ml/xdawn.js';
import type { ErpDecoderKind, ErpDecoderSpec } from './settings.js';

export const TARGET = 'target';
export const NON_TARGET = 'non-target';

/** A post-stimulus block: `samples x channels` sample-major. */
export interface ErpBlock {
  readonly data: Float32Array;
  readonly samples: number;
}

export type ErpDecoderState =
  | { readonly kind: 'erp-vector-lda'; readonly channels: number; readonly decimate: number; readonly lda: LdaState }
  | { readonly kind: 'erp-xdawn-lda'; readonly channels: number; readonly decimate: number; readonly xdawn: XdawnState; readonly lda: LdaState }
  | { readonly kind: 'erp-xdawn-ts-lr'; readonly channels: number; readonly xdawn: XdawnState; readonly reference: number[]; readonly lr: LogisticRegressionState };

/**
 * A target/non-target flash classifier; `score` is its log-odds that the flash was a target
 * (LDA: the difference of the two discriminant scores; logistic regression: the logit).
 * - erp-vector-lda: the epoch decimated (block means) and vectorised, shrinkage LDA (Ledoit-Wolf);
 * - erp-xdawn-lda: the target class's xDAWN filters, their outputs decimated, shrinkage LDA;
 * - erp-xdawn-ts-lr: pyRiemann's XdawnCovariances (every class's filtered prototype stacked on the
 *   filtered epoch, OAS covariance), the tangent space at their Riemannian mean, logistic regression.
 */
export class ErpDecoder {
  private readonly lda?: Lda;
  private readonly lr?: LogisticRegression;
  private readonly xdawn?: Xdawn;
  private readonly ts?: TangentSpace;
  private readonly prototypes?: Float64Array[];
  private readonly features: Float64Array;
  private readonly filtered: Float64Array;
  private readonly out2 = new Float64Array(2);
  private readonly tIndex: number;

  constructor(
    readonly state: ErpDecoderState,
    samples: number,
  ) {
    const s = state;
    if (s.kind !== 'erp-vector-lda') this.xdawn = new Xdawn(s.xdawn);
    if (s.kind === 'erp-xdawn-ts-lr') {
      this.lr = new LogisticRegression(s.lr);
      const n = 2 * this.xdawn!.outputs;
      this.ts = new TangentSpace(n, Float64Array.from(s.reference));
      this.prototypes = prototypesOf(this.xdawn!);
      this.features = new Float64Array(tangentLength(n));
      this.tIndex = s.lr.classes.indexOf(TARGET);
    } else {
      this.lda = new Lda(s.lda);
      this.features = new Float64Array(s.lda.coef[0].length);
      this.tIndex = s.lda.classes.indexOf(TARGET);
    }
    this.filtered = new Float64Array(samples * Math.max(s.channels, 2 * (this.xdawn?.outputs ?? 0)));
  }

  get kind(): ErpDecoderKind {
    return this.state.kind;
  }

  /** Log-odds that `block` follows a target flash. */
  score(block: ErpBlock): number {
    const s = this.state;
    if (s.kind === 'erp-xdawn-ts-lr') {
      superTrialCovariance(this.xdawn!, this.prototypes!, block, this.filtered, this.covariance);
      this.ts!.transform(this.covariance, this.features);
      const p = this.lr!.probabilities(this.features, this.out2);
      return Math.log(p[this.tIndex]) - Math.log(p[1 - this.tIndex]);
    }
    if (s.kind === 'erp-xdawn-lda') {
      this.xdawn!.apply(block, this.filtered);
      decimateInto(this.filtered, block.samples, this.xdawn!.outputs, s.decimate, this.features);
    } else {
      decimateInto(block.data, block.samples, s.channels, s.decimate, this.features);
    }
    const sc = this.lda!.scores(this.features, this.out2);
    return sc[this.tIndex] - sc[1 - this.tIndex];
  }

  private covariance_?: Float64Array;
  private get covariance(): Float64Array {
    const n = 2 * this.xdawn!.outputs;
    return (this.covariance_ ??= new Float64Array(n * n));
  }
}

/** Trains a decoder on flashes labelled TARGET / NON_TARGET. */
export function fitErpDecoder(spec: ErpDecoderSpec, blocks: readonly ErpBlock[], labels: readonly string[], channels: number, decimate: number): ErpDecoder {
  if (blocks.length === 0) throw new Error('ERP decoder: no training flashes');
  for (const cls of [TARGET, NON_TARGET]) if (!labels.includes(cls)) throw new Error(`ERP decoder: no ${cls} flashes to train on`);
  const samples = blocks[0].samples;
  if (spec.kind === 'erp-vector-lda') {
    const X = blocks.map((b) => decimateInto(b.data, b.samples, channels, decimate, new Float64Array(binsOf(b.samples, decimate) * channels)));
    return new ErpDecoder({ kind: spec.kind, channels, decimate, lda: Lda.fit(X, labels, { shrinkage: 'auto' }).state }, samples);
  }
  if (spec.kind === 'erp-xdawn-lda') {
    const xdawn = Xdawn.fit(blocks, labels, channels, { components: Math.min(spec.components, channels), classes: [TARGET] });
    const X = blocks.map((b) => decimateInto(xdawn.apply(b), b.samples, xdawn.outputs, decimate, new Float64Array(binsOf(b.samples, decimate) * xdawn.outputs)));
    return new ErpDecoder({ kind: spec.kind, channels, decimate, xdawn: xdawn.state, lda: Lda.fit(X, labels, { shrinkage: 'auto' }).state }, samples);
  }
  const xdawn = Xdawn.fit(blocks, labels, channels, { components: Math.min(spec.components, channels), classes: [NON_TARGET, TARGET] });
  const prototypes = prototypesOf(xdawn);
  const n = 2 * xdawn.outputs;
  const filtered = new Float64Array(samples * n);
  const covs = blocks.map((b) => superTrialCovariance(xdawn, prototypes, b, filtered, new Float64Array(n * n)));
  const ts = TangentSpace.fit(covs, n);
  const X = covs.map((c) => ts.transform(c));
  const lr = LogisticRegression.fit(X, labels, { c: 1 });
  return new ErpDecoder({ kind: spec.kind, channels, xdawn: xdawn.state, reference: Array.from(ts.reference), lr: lr.state }, samples);
}

/** Each class's evoked response through that class's own filters (pyRiemann's Xdawn evokeds_), `samples x outputs` sample-major. */
function prototypesOf(xdawn: Xdawn): Float64Array[] {
  const { classes, components, samples } = xdawn.state;
  const all = xdawn.prototypes(); // every filter on every class's evoked
  const out = new Float64Array(samples * xdawn.outputs);
  classes.forEach((_, k) => {
    for (let s = 0; s < samples; s++) for (let r = 0; r < components; r++) out[s * xdawn.outputs + k * components + r] = all[k][s * xdawn.outputs + k * components + r];
  });
  return [out];
}

/** OAS covariance of [prototypes; filtered epoch] (rows stacked: 2 x outputs channels), written into `out`. */
function superTrialCovariance(xdawn: Xdawn, prototypes: readonly Float64Array[], block: ErpBlock, scratch: Float64Array, out: Float64Array): Float64Array {
  const m = xdawn.outputs;
  const n = 2 * m;
  const t = block.samples;
  const filtered = xdawn.apply(block);
  const p = prototypes[0];
  const stacked = new Float32Array(t * n);
  for (let s = 0; s < t; s++) {
    for (let r = 0; r < m; r++) {
      stacked[s * n + r] = p[s * m + r];
      stacked[s * n + m + r] = filtered[s * m + r];
    }
  }
  void scratch;
  return epochCovariance({ data: stacked, samples: t }, n, 'oas', out);
}

function binsOf(samples: number, decimate: number): number {
  return Math.floor(samples / decimate);
}

/** Means of consecutive runs of `decimate` samples per channel (a trailing partial run dropped), bin-major. */
export function decimateInto(x: ArrayLike<number>, samples: number, channels: number, decimate: number, out: Float64Array): Float64Array {
  const bins = binsOf(samples, decimate);
  for (let b = 0; b < bins; b++) {
    for (let c = 0; c < channels; c++) {
      let v = 0;
      for (let k = 0; k < decimate; k++) v += x[(b * decimate + k) * channels + c];
      out[b * channels + c] = v / decimate;
    }
  }
  return out;
}
