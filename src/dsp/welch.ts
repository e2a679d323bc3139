import FFT from 'fft.js';
import { checkSampleRate } from './butterworth.js';

/**
 * Welch power spectral density of multichannel windows, numerically equivalent to
 *
 *     scipy.signal.welch(x, fs, window='hann', nperseg=nperseg, noverlap=noverlap,
 *                        detrend='constant', scaling='density', average='mean', axis=0)
 *
 * (nfft = nperseg, one-sided, no boundary padding), computed in float64:
 * - the window is scipy's `get_window('hann', nperseg)`, the periodic ("DFT-even") Hann
 *   `w[i] = 0.5 − 0.5·cos(2πi / nperseg)`;
 * - segments start every `nperseg − noverlap` samples; a window of `n` samples has
 *   `floor((n − noverlap) / (nperseg − noverlap))` of them (trailing samples that do not fill a
 *   segment are ignored, as in scipy);
 * - each segment has its own mean removed, is multiplied by the window and transformed;
 *   `|X_k|² / (fs · Σw²)` is averaged over segments and doubled for every bin except DC and (for
 *   even nperseg) Nyquist, so that the one-sided density integrates to the variance.
 *
 * Transform: fft.js when nperseg is a power of two; otherwise a direct DFT of only the bins asked
 * for (`maxFrequency`), using one cosine table of nperseg values. Zero-padding to a power of two
 * would change the frequency grid and the result, so it is never done. The DFT costs
 * `nperseg × bins` multiply-adds per segment and channel: cheap for EEG bands (bins up to 45 Hz)
 * but slow for a full spectrum of long segments, so prefer power-of-two segments or a
 * `maxFrequency` when nperseg is not one.
 *
 * A WelchPsd is built once per stream; `psd` allocates nothing.
 */

export interface WelchOptions {
  /** Sampling rate in Hz. */
  sampleRate: number;
  /** Channels per sample of the sample-major data given to `psd`. */
  channels: number;
  /** Segment length in samples (at least 2); also the FFT length. */
  nperseg: number;
  /** Samples shared by consecutive segments, 0 <= noverlap < nperseg (default floor(nperseg / 2), as scipy). */
  noverlap?: number;
  /**
   * Highest frequency needed, Hz: only bins with `f <= maxFrequency` are computed and returned
   * (default: all bins up to Nyquist).
   */
  maxFrequency?: number;
}

export class WelchPsd {
  readonly sampleRate: number;
  readonly channels: number;
  readonly nperseg: number;
  readonly noverlap: number;
  /** Samples between segment starts. */
  readonly step: number;
  /** Number of one-sided bins computed (rows of `psd` output per channel). */
  readonly bins: number;
  /** Frequency of each computed bin, Hz (as numpy's rfftfreq). */
  readonly frequencies: Float64Array;
  /** Bin spacing, Hz (fs / nperseg). */
  readonly df: number;
  /** 'fft' (fft.js, nperseg a power of two) or 'dft' (direct transform of the needed bins). */
  readonly method: 'fft' | 'dft';

  private readonly window: Float64Array;
  /** 1 / (fs · Σw²) */
  private readonly scale: number;
  private readonly segment: Float64Array;
  private readonly acc: Float64Array;
  private readonly fft: FFT | undefined;
  private readonly spectrum: Float64Array;
  /** cos and sin of 2πm / nperseg, m = 0..nperseg-1 (DFT path). */
  private readonly cosTable: Float64Array;
  private readonly sinTable: Float64Array;

  constructor(opts: WelchOptions) {
    const { sampleRate, channels, nperseg } = opts;
    checkSampleRate(sampleRate, 'sampleRate');
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`channels must be a positive integer (got ${String(channels)})`);
    if (!Number.isInteger(nperseg) || nperseg < 2) throw new Error(`nperseg must be an integer of at least 2 samples (got ${String(nperseg)})`);
    const noverlap = opts.noverlap ?? Math.floor(nperseg / 2);
    if (!Number.isInteger(noverlap) || noverlap < 0 || noverlap >= nperseg) {
      throw new Error(`noverlap must be an integer with 0 <= noverlap < nperseg (${nperseg}), got ${String(noverlap)}`);
    }
    if (opts.maxFrequency !== undefined && !(opts.maxFrequency >= 0)) {
      throw new Error(`maxFrequency must be a non-negative frequency in Hz (got ${String(opts.maxFrequency)})`);
    }
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.nperseg = nperseg;
    this.noverlap = noverlap;
    this.step = nperseg - noverlap;

    // numpy.fft.rfftfreq(n, d=1/fs): k * (1 / (n * d)).
    const val = 1 / (nperseg * (1 / sampleRate));
    this.df = val;
    const half = Math.floor(nperseg / 2);
    const maxF = opts.maxFrequency ?? Infinity;
    let bins = 0;
    while (bins <= half && bins * val <= maxF) bins++;
    this.bins = bins;
    this.frequencies = Float64Array.from({ length: bins }, (_, k) => k * val);

    this.window = new Float64Array(nperseg);
    let sumSq = 0;
    for (let i = 0; i < nperseg; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nperseg);
      this.window[i] = w;
      sumSq += w * w;
    }
    this.scale = 1 / (sampleRate * sumSq);
    this.segment = new Float64Array(nperseg);
    this.acc = new Float64Array(bins);

    const powerOfTwo = (nperseg & (nperseg - 1)) === 0;
    this.method = powerOfTwo ? 'fft' : 'dft';
    this.fft = powerOfTwo ? new FFT(nperseg) : undefined;
    this.spectrum = new Float64Array(powerOfTwo ? 2 * nperseg : 0);
    this.cosTable = new Float64Array(powerOfTwo ? 0 : nperseg);
    this.sinTable = new Float64Array(powerOfTwo ? 0 : nperseg);
    if (!powerOfTwo) {
      for (let m = 0; m < nperseg; m++) {
        this.cosTable[m] = Math.cos((2 * Math.PI * m) / nperseg);
        this.sinTable[m] = Math.sin((2 * Math.PI * m) / nperseg);
      }
    }
  }

  /** Number of Welch segments in a window of `samples` samples (0 when it is shorter than nperseg). */
  segmentCount(samples: number): number {
    if (samples < this.nperseg) return 0;
    return Math.floor((samples - this.noverlap) / this.step);
  }

  /**
   * PSD of each channel of `samples` samples of sample-major `data` (`data[s * channels + c]`),
   * in units²/Hz. Writes `out[c * bins + k]` (channel-major) and returns `out`.
   */
  psd(data: Float32Array | Float64Array, samples: number, out: Float64Array): Float64Array {
    const { channels, nperseg, bins, step } = this;
    const nSeg = this.segmentCount(samples);
    if (nSeg < 1) throw new Error(`WelchPsd: ${samples} samples are fewer than one segment (nperseg ${nperseg})`);
    if (data.length < samples * channels) throw new Error(`WelchPsd: data has ${data.length} values, fewer than ${samples} samples x ${channels} channels`);
    if (out.length < channels * bins) throw new Error(`WelchPsd: out has ${out.length} values, needs ${channels} channels x ${bins} bins`);
    const seg = this.segment;
    const win = this.window;
    const acc = this.acc;
    for (let c = 0; c < channels; c++) {
      acc.fill(0);
      for (let j = 0; j < nSeg; j++) {
        const start = j * step;
        let mean = 0;
        for (let i = 0; i < nperseg; i++) mean += data[(start + i) * channels + c];
        mean /= nperseg;
        for (let i = 0; i < nperseg; i++) seg[i] = (data[(start + i) * channels + c] - mean) * win[i];
        this.accumulatePower(seg, acc);
      }
      const even = nperseg % 2 === 0;
      const norm = this.scale / nSeg;
      const o = c * bins;
      for (let k = 0; k < bins; k++) {
        const onesided = k === 0 || (even && k === nperseg / 2) ? 1 : 2;
        out[o + k] = acc[k] * norm * onesided;
      }
    }
    return out;
  }

  /** Indices `[from, to)` of the bins with `low <= f < high`. */
  bandBins(low: number, high: number): [number, number] {
    const f = this.frequencies;
    let from = 0;
    while (from < f.length && f[from] < low) from++;
    let to = from;
    while (to < f.length && f[to] < high) to++;
    return [from, to];
  }

  /**
   * Power of channel `channel` in `[low, high)` from a `psd` output: the sum of the PSD over the
   * bins with `low <= f < high`, times the bin width (rectangle rule). Units² (µV² for EEG).
   */
  bandPower(psd: Float64Array, channel: number, low: number, high: number): number {
    const [from, to] = this.bandBins(low, high);
    const o = channel * this.bins;
    let p = 0;
    for (let k = from; k < to; k++) p += psd[o + k];
    return p * this.df;
  }

  /** Adds |X_k|² of the windowed segment to `acc` for the computed bins. */
  private accumulatePower(seg: Float64Array, acc: Float64Array): void {
    const bins = this.bins;
    if (this.fft) {
      const spec = this.spectrum;
      this.fft.realTransform(spec, seg);
      for (let k = 0; k < bins; k++) {
        const re = spec[2 * k];
        const im = spec[2 * k + 1];
        acc[k] += re * re + im * im;
      }
      return;
    }
    const n = this.nperseg;
    const cos = this.cosTable;
    const sin = this.sinTable;
    for (let k = 0; k < bins; k++) {
      // e^{-2πi·k·i/n} through the tables at (k·i) mod n, stepped without a modulo.
      let re = 0;
      let im = 0;
      let m = 0;
      for (let i = 0; i < n; i++) {
        const x = seg[i];
        re += x * cos[m];
        im -= x * sin[m];
        m += k;
        if (m >= n) m -= n;
      }
      acc[k] += re * re + im * im;
    }
  }
}
