import FFT from 'fft.js';
import { bandEdges, EEG_BANDS } from '../dsp/frequency-bands.js';
import type { ServerMessage } from '../server/messages.js';
import type { Chunk, StreamInfo } from '../stream/types.js';

type Flag = 'ok' | 'flat' | 'railed' | 'noisy';

export interface SignalMonitorOptions {
  /** Highest sample rate sent to viewers (default 250 Hz): the stream is block-averaged down to it. */
  displayRate?: number;
  /** Seconds of signal per frame (default 0.1). */
  frameSeconds?: number;
  /** Seconds between spectra (default 0.5). */
  spectrumEvery?: number;
}

const BANDS: Record<string, [number, number]> = bandEdges(EEG_BANDS);
/**
 * Added to powers before the logarithm so a flat channel gives a finite dB value; far below any
 * real signal's power in its unit (EEG in µV² ~1e0-1e3, MEG in T² ~1e-26).
 */
const POWER_FLOOR = 1e-40;
const FLAT_UV = 0.5;
const NOISY_UV = 100;
const RAILED_UV = 1000;

/**
 * What a viewer needs of the raw stream, cheaply: decimated frames (block averages, channel
 * means removed by a 1-s exponential average) with per-channel quality flags, and every
 * `spectrumEvery` seconds a Hann-windowed power spectrum of the last second (mean over channels)
 * with per-channel band powers. State lives in preallocated typed arrays; a frame allocates only
 * the arrays it sends.
 */
export class SignalMonitor {
  private readonly channels: number;
  private readonly factor: number;
  private readonly frameLength: number;
  private readonly means: Float64Array;
  private readonly block: Float64Array;
  private blockFill = 0;
  private readonly frame: Float32Array[];
  private frameFill = 0;
  private frameT0 = 0;
  /** The last second of raw samples, channel-major rings (for flags and spectra). */
  private readonly ring: Float32Array[];
  private ringPos = 0;
  private ringFill = 0;
  private readonly fft: FFT;
  private readonly fftIn: Float64Array;
  private readonly fftOut: Float64Array;
  private readonly window: Float64Array;
  private sinceSpectrum = 0;
  private readonly spectrumSamples: number;
  private readonly alpha: number;
  /** Time and index of the first sample seen: later times count from them (chunking-independent). */
  private origin: { time: number; sample: number } | undefined;

  constructor(
    readonly info: StreamInfo,
    opts: SignalMonitorOptions = {},
  ) {
    const rate = info.sampleRate;
    this.channels = info.channels.length;
    this.factor = Math.max(1, Math.round(rate / (opts.displayRate ?? 250)));
    this.frameLength = Math.max(1, Math.round(((opts.frameSeconds ?? 0.1) * rate) / this.factor));
    this.means = new Float64Array(this.channels);
    this.block = new Float64Array(this.channels);
    this.frame = Array.from({ length: this.channels }, () => new Float32Array(this.frameLength));
    let n = 1;
    while (n < rate) n *= 2;
    this.ring = Array.from({ length: this.channels }, () => new Float32Array(n));
    this.fft = new FFT(n);
    this.fftIn = new Float64Array(n);
    this.fftOut = new Float64Array(2 * n);
    this.window = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
    this.spectrumSamples = Math.max(1, Math.round((opts.spectrumEvery ?? 0.5) * rate));
    this.alpha = 1 / rate;
  }

  /** Feeds one chunk; returns the frames and spectra that became ready. */
  push(chunk: Chunk): ServerMessage[] {
    const out: ServerMessage[] = [];
    const { channels: c, factor } = this;
    const rate = this.info.sampleRate;
    const n = this.ring[0].length;
    this.origin ??= { time: chunk.time, sample: chunk.firstSample };
    const at = (s: number): number => this.origin!.time + (chunk.firstSample - this.origin!.sample + s) / rate;
    for (let s = 0; s < chunk.samples; s++) {
      const o = s * c;
      if (this.blockFill === 0 && this.frameFill === 0) this.frameT0 = at(s);
      for (let ch = 0; ch < c; ch++) {
        const x = chunk.data[o + ch];
        this.means[ch] = this.ringFill === 0 && this.means[ch] === 0 ? x : this.means[ch] + this.alpha * (x - this.means[ch]);
        this.block[ch] += x - this.means[ch];
        this.ring[ch][this.ringPos] = x;
      }
      this.ringPos = (this.ringPos + 1) % n;
      this.ringFill = Math.min(n, this.ringFill + 1);
      if (++this.blockFill === factor) {
        for (let ch = 0; ch < c; ch++) {
          this.frame[ch][this.frameFill] = this.block[ch] / factor;
          this.block[ch] = 0;
        }
        this.blockFill = 0;
        if (++this.frameFill === this.frameLength) {
          out.push(this.signalFrame());
          this.frameFill = 0;
        }
      }
      if (++this.sinceSpectrum >= this.spectrumSamples && this.ringFill === n) {
        this.sinceSpectrum = 0;
        out.push(this.spectrum(at(s)));
      }
    }
    return out;
  }

  private signalFrame(): ServerMessage {
    return {
      type: 'signal',
      t0: this.frameT0,
      rate: this.info.sampleRate / this.factor,
      channels: this.info.channels.map((ch) => ch.label),
      data: this.frame.map((f) => Array.from(f, (v) => Math.round(v * 100) / 100)),
      flags: this.ring.map((r) => this.flag(r)),
    };
  }

  /** Quality of one channel over the last second (of what has arrived). */
  private flag(ring: Float32Array): Flag {
    const count = this.ringFill;
    if (count < 2) return 'ok';
    let sum = 0;
    let sq = 0;
    let peak = 0;
    for (let i = 0; i < count; i++) {
      const x = ring[i];
      sum += x;
      sq += x * x;
      peak = Math.max(peak, Math.abs(x));
    }
    const mean = sum / count;
    const sd = Math.sqrt(Math.max(0, sq / count - mean * mean));
    if (peak >= RAILED_UV) return 'railed';
    if (sd < FLAT_UV) return 'flat';
    if (sd > NOISY_UV) return 'noisy';
    return 'ok';
  }

  private spectrum(timestamp: number): ServerMessage {
    const n = this.fftIn.length;
    const rate = this.info.sampleRate;
    const maxBin = Math.min(n / 2, Math.floor((Math.min(60, rate / 2) * n) / rate));
    const mean = new Float64Array(maxBin + 1);
    const bands: Record<string, number[]> = Object.fromEntries(Object.keys(BANDS).map((b) => [b, []]));
    const scale = 1 / (rate * this.window.reduce((a, w) => a + w * w, 0));
    for (const ring of this.ring) {
      // Oldest sample first; the channel's mean removed.
      let m = 0;
      for (let i = 0; i < n; i++) m += ring[i];
      m /= n;
      for (let i = 0; i < n; i++) this.fftIn[i] = (ring[(this.ringPos + i) % n] - m) * this.window[i];
      this.fft.realTransform(this.fftOut, this.fftIn);
      const psd = (k: number): number => 2 * scale * (this.fftOut[2 * k] ** 2 + this.fftOut[2 * k + 1] ** 2);
      for (let k = 0; k <= maxBin; k++) mean[k] += psd(k) / this.channels;
      for (const [name, [lo, hi]] of Object.entries(BANDS)) {
        let p = 0;
        for (let k = Math.ceil((lo * n) / rate); k <= Math.min(n / 2, Math.floor((hi * n) / rate)); k++) p += psd(k);
        bands[name].push(round2(10 * Math.log10(p * (rate / n) + POWER_FLOOR)));
      }
    }
    return {
      type: 'spectrum',
      timestamp,
      freqs: Array.from({ length: maxBin + 1 }, (_, k) => round2((k * rate) / n)),
      power: Array.from(mean, (p) => round2(10 * Math.log10(p + POWER_FLOOR))),
      bands,
      bandEdges: BANDS,
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
