import { findChannels } from '../../src/dsp/channel-match.js';
import type { Recording } from '../../src/stream/recording.js';
import { MotorImagerySimulator } from '../synthetic/motor-imagery.js';
import { numberParam, parseSourceUri } from '../source-uri.js';
import type { SignalFn } from './cyton-simulator.js';

/** Default montage of a simulated Cyton: the sensorimotor strip (motor imagery needs C3/C4). */
export const CYTON_MOTOR_LABELS = ['FC3', 'C5', 'C3', 'C1', 'C2', 'C4', 'C6', 'CP3'];

/**
 * A board signal from the synthetic motor-imagery generator (`synthetic:motor-imagery?seed=..`),
 * at the board's rate, on the given channels. Samples must be asked for in increasing order.
 */
export function syntheticSignal(uri: string, labels: readonly string[], rate: number): SignalFn {
  const u = parseSourceUri(uri);
  if (u.scheme !== 'synthetic' || u.target !== 'motor-imagery') throw new Error(`simulator source "${uri}": expected synthetic:motor-imagery?seed=...`);
  const sim = new MotorImagerySimulator({ seed: numberParam(u, 'seed', 7), sampleRate: rate, subject: numberParam(u, 'subject', 1) });
  const picks = findChannels(
    sim.info.channels.map((c) => c.label),
    labels,
  );
  const n = sim.info.channels.length;
  let block: Float32Array = new Float32Array(0);
  let blockStart = 0;
  let blockLen = 0;
  return (sample, channel) => {
    while (sample >= blockStart + blockLen) {
      blockStart += blockLen;
      const { data } = sim.next(rate);
      block = data;
      blockLen = rate;
    }
    return block[(sample - blockStart) * n + picks[channel]];
  };
}

/**
 * A board signal from a recording (an EDF file, say), looped, on the given channels, resampled
 * linearly to the board's rate when the recording has another (EEGMMIDB is 160 Hz, a Cyton 250).
 */
export function recordedSignal(rec: Recording, labels: readonly string[], rate: number): SignalFn {
  const picks = findChannels(
    rec.info.channels.map((c) => c.label),
    labels,
  );
  const n = rec.info.channels.length;
  const ratio = rec.info.sampleRate / rate;
  return (sample, channel) => {
    const t = (sample * ratio) % rec.samples;
    const i = Math.floor(t);
    const j = (i + 1) % rec.samples;
    const f = t - i;
    const c = picks[channel];
    return rec.data[i * n + c] * (1 - f) + rec.data[j * n + c] * f;
  };
}
