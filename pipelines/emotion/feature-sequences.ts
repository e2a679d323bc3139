import type { SignalBlock } from '../../devices/datasets/emotion/emotion-dataset.js';
import { computeBandFeatures, type BandFeatureOptions, type FeatureFrame } from '../../src/features/band-features.js';
import type { StreamInfo } from '../../src/stream/types.js';

/**
 * Feature frames as decoders see them. One frame vector holds, in order:
 * differential entropy (channels x bands, `c * bands + b`), log10 band power (same layout) and the
 * frontal alpha asymmetries (one per pair). A decoder's input is a *sequence*: the last
 * `sequenceLength` frame vectors, oldest first, flat (`t * frameLength + i`).
 */
export interface FrameLayout {
  readonly channels: readonly string[];
  readonly bands: readonly string[];
  readonly asymmetryPairs: readonly (readonly [string, string])[];
}

export function frameLength(layout: FrameLayout): number {
  return 2 * layout.channels.length * layout.bands.length + layout.asymmetryPairs.length;
}

export function layoutOf(frame: FeatureFrame): FrameLayout {
  return { channels: frame.channels, bands: frame.bands, asymmetryPairs: frame.asymmetryPairs };
}

/** Writes a frame's features into `out` at `offset` in the frame-vector layout. */
export function writeFrameVector(frame: FeatureFrame, out: Float32Array, offset = 0): void {
  out.set(frame.de, offset);
  out.set(frame.logPower, offset + frame.de.length);
  out.set(frame.asymmetry, offset + frame.de.length + frame.logPower.length);
}

export function frameVector(frame: FeatureFrame): Float32Array {
  const out = new Float32Array(frame.de.length + frame.logPower.length + frame.asymmetry.length);
  writeFrameVector(frame, out);
  return out;
}

/** The feature frames of a recorded block, computed by the same extractor as live. */
export function blockFrames(block: SignalBlock, info: StreamInfo, opts: BandFeatureOptions): FeatureFrame[] {
  return computeBandFeatures(info, block.data.subarray(0, block.samples * info.channels.length), opts);
}

/**
 * Sequences of `length` consecutive frame vectors ending at every `stride`-th frame (from the
 * first full one), appended flat to `out`; returns how many were added.
 */
export function appendSequences(frames: readonly Float32Array[], length: number, stride: number, out: Float32Array[]): number {
  let added = 0;
  for (let end = length - 1; end < frames.length; end += stride) {
    const L = frames[end].length;
    const seq = new Float32Array(length * L);
    for (let t = 0; t < length; t++) seq.set(frames[end - length + 1 + t], t * L);
    out.push(seq);
    added++;
  }
  return added;
}
