import type { ChannelInfo } from '../../../src/stream/types.js';

/**
 * A labelled emotion dataset in memory, whatever file layout it came from (DREAMER's .mat
 * structure, DEAP's preprocessed files, SEED's per-session .mat files, or neurorx's synthetic
 * generator). Signals are sample-major Float32Arrays in µV, as everywhere in neurorx.
 */

/** Self-assessed ratings of a trial, on the dataset's own scale (`EmotionDataset.ratingScale`). */
export interface EmotionRatings {
  readonly valence?: number;
  readonly arousal?: number;
  readonly dominance?: number;
  readonly liking?: number;
}

/** A run of samples: `samples * channels` values, sample-major. */
export interface SignalBlock {
  readonly data: Float32Array;
  readonly samples: number;
}

/** One stimulus (film clip, music video) watched by one subject. */
export interface EmotionTrial extends SignalBlock {
  /** Stable id within the subject, e.g. "clip-3" or "trial-12". */
  readonly id: string;
  /** Resting/neutral recording before the stimulus, when the dataset has one (DREAMER, DEAP's 3 s). */
  readonly baseline?: SignalBlock;
  readonly ratings: EmotionRatings;
  /** A categorical label when the dataset gives one instead of ratings (SEED: positive/neutral/negative). */
  readonly category?: string;
}

export interface EmotionSubject {
  /** e.g. "1" or "s01"; with SEED, "<subject>-<session>". */
  readonly id: string;
  readonly trials: readonly EmotionTrial[];
}

export interface EmotionDataset {
  /** "dreamer", "deap", "seed", "synthetic-emotion". */
  readonly name: string;
  /** EEG channels only (peripheral channels are dropped by the readers). */
  readonly channels: readonly ChannelInfo[];
  readonly sampleRate: number;
  /** Scale of `ratings` (DREAMER 1-5, DEAP 1-9); undefined when the dataset has categories only. */
  readonly ratingScale?: { readonly min: number; readonly max: number };
  readonly subjects: readonly EmotionSubject[];
}
