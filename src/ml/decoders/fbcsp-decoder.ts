import type { FilterBankBand } from '../../dsp/filter-bank.js';
import { OvrCsp, type OvrCspState } from '../csp-ovr.js';
import { Lda, type LdaState } from '../lda.js';
import { selectByMutualInformation } from '../mutual-information.js';
import type { Decoder, DecoderState, SignalBlock } from './decoder.js';
import type { DecoderSpec } from './decoder-spec.js';

type Spec = Extract<DecoderSpec, { kind: 'fbcsp' }>;

interface FbcspState {
  bands: FilterBankBand[];
  order: number;
  /** Channels per band. */
  bandChannels: number;
  csps: OvrCspState[];
  /** Indices into the concatenated per-band features that the LDA reads. */
  selected: number[];
  lda: LdaState;
}

/**
 * Filter bank CSP (Ang et al. 2008): the input carries every channel through each band of a
 * filter bank (see dsp/filter-bank.ts: band-major channel blocks); a (one-vs-rest) CSP per band
 * gives log-power features, the `select` most informative by mutual information with the class
 * are kept, and an LDA decides.
 */
export class FbcspDecoder implements Decoder {
  readonly kind = 'fbcsp' as const;
  readonly channels: number;
  readonly csps: OvrCsp[];
  readonly lda: Lda;
  private readonly all: Float64Array;
  private readonly picked: Float64Array;
  private bandBlock: Float32Array;

  constructor(readonly state: FbcspState) {
    this.channels = state.bandChannels * state.bands.length;
    this.csps = state.csps.map((s) => new OvrCsp(s));
    if (this.csps.length !== state.bands.length) throw new Error(`fbcsp: ${this.csps.length} CSPs for ${state.bands.length} bands`);
    this.lda = new Lda(state.lda);
    this.all = new Float64Array(this.csps.reduce((n, c) => n + c.components, 0));
    this.picked = new Float64Array(state.selected.length);
    this.bandBlock = new Float32Array(0);
  }

  /** The filter bank the input must come through. */
  get bands(): readonly FilterBankBand[] {
    return this.state.bands;
  }

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, spec: Spec): FbcspDecoder {
    const bandCount = spec.bands.length;
    if (channels % bandCount !== 0) throw new Error(`fbcsp: ${channels} input channels do not split into ${bandCount} bands`);
    const bandChannels = channels / bandCount;
    // Each band's trials are cut out once: they train that band's CSP and give its features.
    const perBand = spec.bands.map((_, b) => blocks.map((x) => extractBand(x, b, bandChannels, bandCount)));
    const csps = perBand.map((bandBlocks) => OvrCsp.fit(bandBlocks, labels, bandChannels, spec.components, spec.regularization));
    const all = blocks.map((_, i) => Float64Array.from(csps.flatMap((csp, b) => Array.from(csp.logPower(perBand[b][i], bandChannels)))));
    const selected = selectByMutualInformation(all, labels, spec.select).sort((a, b) => a - b);
    const lda = Lda.fit(
      all.map((f) => selected.map((j) => f[j])),
      labels,
      { shrinkage: spec.shrinkage ?? undefined },
    );
    return new FbcspDecoder({ bands: spec.bands, order: spec.order, bandChannels, csps: csps.map((c) => c.state), selected, lda: lda.state });
  }

  get classes(): readonly string[] {
    return this.lda.state.classes;
  }

  /** Log-power features of every band's CSP, concatenated (into a buffer reused across calls). */
  private allFeatures(block: SignalBlock): Float64Array {
    const { bandChannels } = this.state;
    const bandCount = this.state.bands.length;
    if (this.bandBlock.length < block.samples * bandChannels) this.bandBlock = new Float32Array(block.samples * bandChannels);
    let o = 0;
    for (let b = 0; b < bandCount; b++) {
      const sub = extractBand(block, b, bandChannels, bandCount, this.bandBlock);
      const csp = this.csps[b];
      csp.logPower(sub, bandChannels, this.all.subarray(o, o + csp.components));
      o += csp.components;
    }
    return this.all;
  }

  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    const all = this.allFeatures(block);
    this.state.selected.forEach((j, i) => (this.picked[i] = all[j]));
    return this.lda.probabilities(this.picked, out);
  }

  toJSON(): DecoderState {
    return { kind: this.kind, ...this.state };
  }
}

/** Channels of band `b` out of a band-major stacked block. */
function extractBand(block: SignalBlock, b: number, bandChannels: number, bandCount: number, out: Float32Array = new Float32Array(block.samples * bandChannels)): SignalBlock {
  const width = bandChannels * bandCount;
  const { data, samples } = block;
  for (let s = 0; s < samples; s++) {
    const src = s * width + b * bandChannels;
    out.set(data.subarray(src, src + bandChannels), s * bandChannels);
  }
  return { data: out, samples };
}
