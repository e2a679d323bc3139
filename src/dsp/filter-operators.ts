import type { OperatorFunction } from 'rxjs';
import { assertSameStream, withData } from '../stream/chunk.js';
import { statefulOperator } from '../stream/stateful-operator.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import { butterworthSos, checkOrder, type ButterworthType } from './butterworth.js';
import { notchSos } from './notch.js';
import { SosFilter } from './sos-filter.js';

/**
 * Causal IIR filter operators on chunk streams.
 *
 * Each subscription designs its filter from the first chunk's sample rate and channel count and
 * keeps one SosFilter, so state carries across chunks: filtering chunk by chunk gives exactly the
 * same float32 output as filtering the whole signal at once, whatever the chunk sizes. A new
 * subscription starts from zero state. A chunk whose channel count or sample rate differs from the
 * first one is an error (the filter was designed for the first).
 *
 * Each output chunk carries a fresh Float32Array: downstream stages (windows, recorders) may keep
 * references to earlier chunks' data, so buffers are not reused.
 */

export interface BandOptions {
  /** Lower -3 dB edge in Hz. */
  low: number;
  /** Upper -3 dB edge in Hz. */
  high: number;
  /** Butterworth order (default 4); band filters get `order` second-order sections. */
  order?: number;
}

export interface EdgeOptions {
  /** -3 dB cutoff in Hz. */
  cutoff: number;
  /** Butterworth order (default 4). */
  order?: number;
}

export interface NotchOptions {
  /** Frequency to remove in Hz, e.g. 50 or 60 (mains). */
  freq: number;
  /** Quality factor: freq / -3 dB bandwidth (default 30). */
  q?: number;
  /**
   * How many multiples of `freq` to remove, the fundamental included (default 1: only `freq`;
   * 3: freq, 2·freq and 3·freq). Multiples at or above Nyquist are skipped; each notch has the same
   * Q, so its bandwidth grows with its frequency.
   */
  harmonics?: number;
}

/**
 * Builds an operator that designs an SOS cascade from the stream info of the first chunk and
 * filters every chunk with it.
 */
export function sosOperator(name: string, design: (sampleRate: number) => Float64Array): OperatorFunction<Chunk, Chunk> {
  return statefulOperator(() => {
    let first: StreamInfo | undefined;
    let filter: SosFilter | undefined;
    return (chunk: Chunk, emit: (c: Chunk) => void) => {
      if (!first || !filter) {
        const info = chunk.info;
        if (!(info.sampleRate > 0)) {
          throw new Error(`${name}: stream sample rate must be positive to design a filter (got ${info.sampleRate} Hz)`);
        }
        if (info.channels.length === 0) throw new Error(`${name}: stream has no channels`);
        let sos: Float64Array;
        try {
          sos = design(info.sampleRate);
        } catch (e) {
          throw new Error(`${name} at ${info.sampleRate} Hz: ${(e as Error).message}`);
        }
        filter = new SosFilter(sos, info.channels.length);
        first = info;
      }
      assertSameStream(first, chunk, name);
      const data = filter.process(chunk.data, chunk.samples, new Float32Array(chunk.samples * first.channels.length));
      emit(withData(chunk, data));
    };
  });
}

function checkFrequency(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive frequency in Hz (got ${String(value)})`);
  }
}

function butterworthOperator(name: ButterworthType, cutoff: number | readonly [number, number], order: number): OperatorFunction<Chunk, Chunk> {
  // Rate-independent checks now, so a bad pipeline fails when it is built, not at the first chunk.
  checkOrder(order, `${name} order`);
  if (typeof cutoff === 'number') {
    checkFrequency(cutoff, `${name} cutoff`);
  } else {
    checkFrequency(cutoff[0], `${name} low`);
    checkFrequency(cutoff[1], `${name} high`);
    if (!(cutoff[0] < cutoff[1])) throw new Error(`${name} low (${cutoff[0]} Hz) must be below high (${cutoff[1]} Hz)`);
  }
  return sosOperator(name, (rate) => butterworthSos(order, cutoff, rate, name));
}

/** Causal Butterworth band-pass, `low`–`high` Hz (-3 dB edges), order 4 by default. */
export function bandpass({ low, high, order = 4 }: BandOptions): OperatorFunction<Chunk, Chunk> {
  return butterworthOperator('bandpass', [low, high], order);
}

/** Causal Butterworth band-stop, rejecting `low`–`high` Hz, order 4 by default. */
export function bandstop({ low, high, order = 4 }: BandOptions): OperatorFunction<Chunk, Chunk> {
  return butterworthOperator('bandstop', [low, high], order);
}

/** Causal Butterworth high-pass at `cutoff` Hz, order 4 by default. */
export function highpass({ cutoff, order = 4 }: EdgeOptions): OperatorFunction<Chunk, Chunk> {
  return butterworthOperator('highpass', cutoff, order);
}

/** Causal Butterworth low-pass at `cutoff` Hz, order 4 by default. */
export function lowpass({ cutoff, order = 4 }: EdgeOptions): OperatorFunction<Chunk, Chunk> {
  return butterworthOperator('lowpass', cutoff, order);
}

/** Cascade of notches at `freq` (and its harmonics) as one SOS array. */
export function notchCascadeSos(freq: number, q: number, harmonics: number, fs: number): Float64Array {
  const sections: Float64Array[] = [];
  for (let h = 1; h <= harmonics; h++) {
    const f = freq * h;
    if (h > 1 && f >= fs / 2) break;
    sections.push(notchSos(f, q, fs));
  }
  const sos = new Float64Array(sections.length * 6);
  sections.forEach((s, i) => sos.set(s, i * 6));
  return sos;
}

/** Causal IIR notch at `freq` Hz (quality `q`, default 30), optionally at its harmonics too. */
export function notch({ freq, q = 30, harmonics = 1 }: NotchOptions): OperatorFunction<Chunk, Chunk> {
  checkFrequency(freq, 'notch freq');
  if (typeof q !== 'number' || !Number.isFinite(q) || q <= 0) throw new Error(`notch q must be a positive number (got ${String(q)})`);
  if (!Number.isInteger(harmonics) || harmonics < 1) {
    throw new Error(`notch harmonics must be a positive integer (got ${String(harmonics)})`);
  }
  return sosOperator('notch', (rate) => notchCascadeSos(freq, q, harmonics, rate));
}
