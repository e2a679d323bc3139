import { Mdm, type MdmState } from '../riemann/mdm.js';
import { CovarianceFrontEnd, type CovarianceFrontEndState } from './covariance-front-end.js';
import type { Decoder, DecoderState, FitOptions, SignalBlock } from './decoder.js';
import type { DecoderSpec } from './decoder-spec.js';

type Spec = Extract<DecoderSpec, { kind: 'mdm' }>;

/** Shrunk trial covariances, minimum distance to the Riemannian class means. */
export class MdmDecoder implements Decoder {
  readonly kind = 'mdm' as const;
  readonly frontEnd: CovarianceFrontEnd;
  readonly mdm: Mdm;

  constructor(
    readonly channels: number,
    state: { covariance: CovarianceFrontEndState; mdm: MdmState },
  ) {
    this.frontEnd = new CovarianceFrontEnd(channels, state.covariance);
    this.mdm = new Mdm(channels, state.mdm);
  }

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, spec: Spec, opts: FitOptions = {}): MdmDecoder {
    const { frontEnd, covs } = CovarianceFrontEnd.fit(blocks, channels, spec.estimator, spec.recenter, opts.recenterOn);
    const mdm = Mdm.fit(covs, labels, channels);
    return new MdmDecoder(channels, { covariance: frontEnd.state, mdm: mdm.state });
  }

  get classes(): readonly string[] {
    return this.mdm.classes;
  }

  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    return this.mdm.probabilities(this.frontEnd.covariance(block), out);
  }

  recenterOn(blocks: readonly SignalBlock[]): void {
    this.frontEnd.recenterOn(blocks);
  }

  toJSON(): DecoderState {
    return { kind: this.kind, channels: this.channels, covariance: this.frontEnd.state, mdm: this.mdm.state };
  }
}
