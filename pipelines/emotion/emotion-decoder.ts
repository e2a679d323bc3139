import type { EmotionDecoderSpec } from './emotion-decoder-spec.js';
import type { FrameLayout } from './feature-sequences.js';

/**
 * Labelled sequences of normalised frame vectors (see feature-sequences.ts): `count` sequences of
 * `sequenceLength` frames of `frameLength` values, flat; `labels[i]` indexes `classes`, which are
 * in their natural order (low before high).
 */
export interface TrainingSet {
  readonly sequences: Float32Array;
  readonly count: number;
  readonly sequenceLength: number;
  readonly frameLength: number;
  readonly labels: readonly number[];
  readonly classes: readonly string[];
  readonly layout: FrameLayout;
  /** Who each sequence belongs to (subjects): iterative decoders validate on whole groups. */
  readonly groups?: readonly string[];
}

/** A trained valence or arousal decoder. */
export interface EmotionDecoder {
  readonly kind: EmotionDecoderSpec['kind'];
  /** In natural order; probabilities come in this order. */
  readonly classes: readonly string[];
  readonly sequenceLength: number;
  /** Class probabilities of one sequence (`sequenceLength * frameLength` values). */
  probabilities(sequence: Float32Array, out?: Float64Array): Float64Array;
  /** Probabilities of `count` sequences at once (n x classes), for evaluation. */
  probabilitiesBatch?(sequences: Float32Array, count: number): Float32Array;
  toJSON(): { kind: string };
  dispose?(): void;
}

export interface FitProgress {
  /** Called after each training epoch of iterative decoders. */
  onEpoch?: (epoch: number, loss: number, validationAccuracy: number | undefined) => void;
}
