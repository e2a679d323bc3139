import { OvrCsp, type OvrCspState } from '../csp-ovr.js';
import { Lda, type LdaState } from '../lda.js';
import type { Decoder, DecoderState, SignalBlock } from './decoder.js';
import type { DecoderSpec } from './decoder-spec.js';

type Spec = Extract<DecoderSpec, { kind: 'csp-lda' | 'csp-ovr' }>;

/**
 * CSP log-power features, LDA on top. "csp-lda" is the classic two-class decoder (one CSP);
 * "csp-ovr" is its multiclass form, one CSP per class against the rest (with two classes both
 * are the same single CSP).
 */
export class CspLdaDecoder implements Decoder {
  readonly csp: OvrCsp;
  readonly lda: Lda;
  private readonly features: Float64Array;

  constructor(
    readonly kind: 'csp-lda' | 'csp-ovr',
    readonly channels: number,
    state: { csp: OvrCspState; lda: LdaState },
  ) {
    this.csp = new OvrCsp(state.csp);
    this.lda = new Lda(state.lda);
    if (state.csp.csps.some((c) => c.filters.some((r) => r.length !== channels))) throw new Error(`${kind}: filters must have ${channels} values (one per channel)`);
    this.features = new Float64Array(this.csp.components);
  }

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, spec: Spec): CspLdaDecoder {
    const classes = new Set(labels);
    if (spec.kind === 'csp-lda' && classes.size !== 2) {
      throw new Error(`csp-lda handles two classes, got ${classes.size} (${[...classes].join(', ')}); use csp-ovr, fbcsp, mdm or tangent-space-lr`);
    }
    const csp = OvrCsp.fit(blocks, labels, channels, spec.components, spec.kind === 'csp-lda' ? spec.regularization : 0);
    const features = blocks.map((b) => csp.logPower(b, channels));
    const lda = Lda.fit(features, labels, { shrinkage: spec.shrinkage ?? undefined });
    return new CspLdaDecoder(spec.kind, channels, { csp: csp.state, lda: lda.state });
  }

  get classes(): readonly string[] {
    return this.lda.state.classes;
  }

  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    this.csp.logPower(block, this.channels, this.features);
    return this.lda.probabilities(this.features, out);
  }

  toJSON(): DecoderState {
    return { kind: this.kind, channels: this.channels, csp: this.csp.state, lda: this.lda.state };
  }
}
