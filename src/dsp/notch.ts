import { checkSampleRate } from './butterworth.js';

/**
 * Second-order IIR notch (band-stop) filter as one second-order section, the same filter as
 * `scipy.signal.tf2sos(*scipy.signal.iirnotch(f0, Q, fs))`.
 *
 * Zeros sit on the unit circle at ±f0; the -3 dB bandwidth is f0 / Q. Unit gain at DC and Nyquist.
 *
 * @param f0 frequency to remove, in Hz, strictly between 0 and Nyquist (`fs / 2`).
 * @param Q quality factor (> 0): f0 divided by the -3 dB bandwidth; 30 removes 50 Hz ± ~0.8 Hz.
 * @param fs sampling rate in Hz.
 * @returns 6 values `[b0, b1, b2, 1, a1, a2]`.
 */
export function notchSos(f0: number, Q: number, fs: number): Float64Array {
  checkSampleRate(fs);
  if (typeof f0 !== 'number' || !Number.isFinite(f0) || f0 <= 0) {
    throw new Error(`f0 must be a positive frequency in Hz (got ${String(f0)})`);
  }
  if (f0 >= fs / 2) throw new Error(`f0 ${f0} Hz must be below Nyquist (${fs / 2} Hz)`);
  if (typeof Q !== 'number' || !Number.isFinite(Q) || Q <= 0) {
    throw new Error(`Q must be a positive number (got ${String(Q)})`);
  }
  const w0 = (2 * Math.PI * f0) / fs;
  const bw = w0 / Q;
  // Bilinear-transformed analog notch with its band edges at -3 dB: beta = tan(bw / 2).
  const beta = Math.tan(bw / 2);
  const gain = 1 / (1 + beta);
  const c = Math.cos(w0);
  return Float64Array.of(gain, -2 * gain * c, gain, 1, -2 * gain * c, 2 * gain - 1);
}
