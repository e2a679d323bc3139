import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, Marker, StreamInfo } from '../../src/stream/types.js';
import { Random } from '../../src/util/random.js';
import { PinkNoiseBank, subStreamSeed } from './noise-processes.js';

/**
 * Simulated SSVEP EEG, laid out like the Muse recordings (TP9, AF7, AF8, TP10 at 256 Hz, markers
 * "1", "2", ... naming the flickering target): for demos, tests and benchmarks.
 *
 * Trials: a pause of 0.5-0.7 s, then a marker and `stimulusSeconds` of flicker at one target's
 * frequency; targets come in shuffled blocks holding each once. During the flicker every channel
 * carries the response: a sinusoid at the frequency and each of its harmonics (amplitude falling
 * as 1/h), with a per-channel gain (the subject's montage) and a per-trial phase jitter of a few
 * milliseconds (the marker's timing error), ramped in over 0.1 s; under it, pink background noise
 * and white sensor noise. Marker times are exact sample times (index / rate).
 */
export interface SsvepSimOptions {
  seed: number;
  /** Target frequencies, Hz; default [20, 30] (the Muse recordings'). */
  frequencies?: readonly number[];
  /** Trials per target; default 10. */
  trialsPerTarget?: number;
  /** Hz; default 256. */
  sampleRate?: number;
  /** Amplitude of the fundamental, µV; default 1.5 (background about 10 µV). */
  amplitude?: number;
  harmonics?: number;
  stimulusSeconds?: number;
}

const CHANNELS = ['TP9', 'AF7', 'AF8', 'TP10'];
/** The temporal sites sit nearer the visual cortex than the frontal ones. */
const CHANNEL_GAIN = [1, 0.45, 0.5, 0.9];

export function generateSsvep(opts: SsvepSimOptions): Recording {
  const frequencies = opts.frequencies ?? [20, 30];
  const rate = opts.sampleRate ?? 256;
  const trialsPerTarget = opts.trialsPerTarget ?? 10;
  const amplitude = opts.amplitude ?? 1.5;
  const harmonics = opts.harmonics ?? 2;
  const stimulus = Math.round((opts.stimulusSeconds ?? 3) * rate);
  if (frequencies.length < 1 || frequencies.some((f) => !(f > 0 && f < rate / 2))) throw new Error(`synthetic SSVEP: frequencies must lie in (0, ${rate / 2}) Hz`);
  if (!Number.isInteger(trialsPerTarget) || trialsPerTarget < 1) throw new Error(`synthetic SSVEP: trials must be a positive integer, got ${trialsPerTarget}`);
  const schedule = new Random(subStreamSeed(opts.seed, 1));
  const order: number[] = [];
  for (let b = 0; b < trialsPerTarget; b++) {
    const block = frequencies.map((_, i) => i);
    for (let i = block.length - 1; i > 0; i--) {
      const j = schedule.int(i + 1);
      [block[i], block[j]] = [block[j], block[i]];
    }
    order.push(...block);
  }
  const pauses = order.map(() => Math.round((0.5 + 0.2 * schedule.uniform()) * rate));
  const jitter = order.map(() => (schedule.uniform() - 0.5) * 0.008);
  const samples = pauses.reduce((a, p) => a + p + stimulus, 0) + Math.round(0.5 * rate);
  const nch = CHANNELS.length;
  const data = new Float32Array(samples * nch);
  const markers: Marker[] = [];
  const noise = new Random(subStreamSeed(opts.seed, 2));
  const pink = new PinkNoiseBank(
    rate,
    CHANNELS.map(() => 10),
  );
  let s = 0;
  const background = (n: number): void => {
    for (let end = s + n; s < end; s++) for (let c = 0; c < nch; c++) data[s * nch + c] = pink.step(c, noise.normal()) + 2 * noise.normal();
  };
  for (let t = 0; t < order.length; t++) {
    background(pauses[t]);
    const f = frequencies[order[t]];
    markers.push({ time: s / rate, value: String(order[t] + 1), duration: 0 });
    const onset = s;
    background(stimulus);
    for (let i = 0; i < stimulus; i++) {
      const time = i / rate + jitter[t];
      const ramp = Math.min(1, i / (0.1 * rate));
      let v = 0;
      for (let h = 1; h <= harmonics && h * f < rate / 2; h++) v += Math.sin(2 * Math.PI * h * f * time) / h;
      for (let c = 0; c < nch; c++) data[(onset + i) * nch + c] += amplitude * ramp * CHANNEL_GAIN[c] * v;
    }
  }
  background(samples - s);
  const channels: ChannelInfo[] = CHANNELS.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
  const info: StreamInfo = { name: `synthetic SSVEP (seed ${opts.seed})`, type: 'EEG', sourceId: `synthetic:ssvep?seed=${opts.seed}`, channels, sampleRate: rate };
  return { info, data, samples, markers };
}
