import { Csp, type CspOptions, type SignalBlock } from './csp.js';

export interface OvrCspState {
  readonly classes: readonly string[];
  /** One two-class CSP per class (that class against all others); one CSP when there are two classes. */
  readonly csps: Csp['state'][];
}

const REST = '\u0000rest';

/**
 * Multiclass CSP by one-versus-rest (Dornhege et al. 2004): a two-class CSP of each class against
 * the union of the others, `components` filters each, stacked. With two classes both problems
 * are the same, so one CSP is fitted. Besides log-power features it gives the "CSP space": the
 * spatially filtered signals themselves, time axis kept, for decoders that read time courses.
 */
export class OvrCsp {
  readonly csps: Csp[];
  private readonly flat: Float64Array;

  constructor(readonly state: OvrCspState) {
    this.csps = state.csps.map((s) => new Csp(s));
    this.flat = Float64Array.from(this.csps.flatMap((c) => c.state.filters.flat()));
  }

  static fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, components: number, regularization: CspOptions['regularization'] = 0): OvrCsp {
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`CSP: at least two classes needed, got ${classes.join(', ') || 'none'}`);
    const targets = classes.length === 2 ? [classes[0]] : classes;
    const csps = targets.map((cls) => {
      const binary = labels.map((l) => (l === cls ? cls : REST));
      return Csp.fit(blocks, binary, channels, { components, regularization }).state;
    });
    return new OvrCsp({ classes, csps });
  }

  /** Total number of spatial filters (features). */
  get components(): number {
    return this.flat.length / (this.csps[0]?.state.filters[0]?.length || 1);
  }

  /** Log mean power of every filter (the classic CSP features of each one-vs-rest problem). */
  logPower(block: SignalBlock, channels: number, out: Float64Array = new Float64Array(this.components)): Float64Array {
    let o = 0;
    for (const csp of this.csps) {
      csp.logPower(block, channels, out.subarray(o, o + csp.components));
      o += csp.components;
    }
    return out;
  }

  /**
   * The block projected into CSP space: `samples x components` interleaved, component j at time s
   * = w_j · x(s). Keeps the time axis for temporal models (as RLEEGNet's CSP front end).
   */
  transformSignals(block: SignalBlock, channels: number, out: Float32Array = new Float32Array(block.samples * this.components)): Float32Array {
    const k = this.components;
    const w = this.flat;
    const { data, samples } = block;
    for (let s = 0; s < samples; s++) {
      const o = s * channels;
      for (let j = 0; j < k; j++) {
        let y = 0;
        const r = j * channels;
        for (let c = 0; c < channels; c++) y += w[r + c] * data[o + c];
        out[s * k + j] = y;
      }
    }
    return out;
  }
}
