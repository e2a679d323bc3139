import type { SignalBlock } from '../csp.js';
import { argmax } from '../softmax.js';

export type { SignalBlock };
export { argmax };

/** The decoder names `neurorx evaluate --pipeline` and pipeline configs accept. */
export const DECODER_KINDS = ['csp-lda', 'csp-ovr', 'fbcsp', 'mdm', 'tangent-space-lr', 'eegnet'] as const;
export type DecoderKind = (typeof DECODER_KINDS)[number];

/**
 * A trained classifier of fixed-length blocks of preprocessed multichannel signal (epochs in
 * calibration, sliding windows online). Every decoder gives class probabilities, so the control
 * stage downstream (smoothing, threshold, dwell) works the same for all of them.
 */
export interface Decoder {
  readonly kind: DecoderKind;
  /** Class labels, sorted; probabilities come in this order. */
  readonly classes: readonly string[];
  /** Channels per sample the decoder expects (after any filter bank). */
  readonly channels: number;
  probabilities(block: SignalBlock, out?: Float64Array): Float64Array;
  /** Serialisable state; `restoreDecoder` rebuilds the decoder from it. */
  toJSON(): DecoderState;
  /**
   * Unsupervised transfer to a new session: re-centre on covariances of the new session's blocks
   * (resting data or unlabelled trials). Only decoders built on covariances implement it.
   */
  recenterOn?(blocks: readonly SignalBlock[]): void;
  /** Decoders whose weights live outside the JSON (EEGNet) write them to `dir`, named from `stem`. */
  saveFiles?(dir: string, stem: string): Promise<void>;
  dispose?(): void;
}

export interface FitOptions {
  /**
   * Re-centring decoders only: centre the training session on these blocks (e.g. its resting
   * data) rather than on the training trials, so that training and new sessions are centred on
   * the same kind of data.
   */
  recenterOn?: readonly SignalBlock[];
  /** Sample rate of the blocks (EEGNet sizes its temporal kernel from it: half a second). */
  sampleRate?: number;
}

export interface DecoderState {
  readonly kind: DecoderKind;
  readonly [key: string]: unknown;
}

export function predictLabel(decoder: Decoder, block: SignalBlock): string {
  return decoder.classes[argmax(decoder.probabilities(block))];
}
