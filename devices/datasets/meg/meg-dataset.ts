import type { ChannelInfo, SensorPosition } from '../../../src/stream/types.js';

/**
 * Image-locked MEG (or EEG) epochs in memory, whatever they came from (neurorx's synthetic MEG
 * generator, a THINGS-MEG-like layout a user brings): per subject, one epoch per image
 * presentation, sample-major Float32Array in the channels' units (T for magnetometers, T/m for
 * gradiometers, V for EEG, as MNE and FIF store them).
 */
export interface ImageEpoch {
  /** Which image was shown: an id of the gallery. */
  readonly imageId: string;
  /** `samples * channels` values, sample-major; sample `onset` is the image onset. */
  readonly data: Float32Array;
  readonly samples: number;
  /** Index of the onset sample within the epoch (epochs start `onset / sampleRate` s before it). */
  readonly onset: number;
}

export interface MegSubject {
  readonly id: string;
  readonly epochs: readonly ImageEpoch[];
}

export interface MegDataset {
  /** "synthetic-meg", "things-meg", ... */
  readonly name: string;
  readonly channels: readonly ChannelInfo[];
  /** One per channel, same order. */
  readonly positions: readonly SensorPosition[];
  readonly sampleRate: number;
  readonly subjects: readonly MegSubject[];
}
