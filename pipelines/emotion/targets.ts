import type { EmotionDataset, EmotionTrial } from '../../devices/datasets/emotion/emotion-dataset.js';

/** What an emotion decoder predicts. */
export type EmotionTarget = 'valence' | 'arousal';
export const EMOTION_TARGETS: readonly EmotionTarget[] = ['valence', 'arousal'];

/**
 * How ratings become classes:
 * - 2 levels: "low" / "high", high when the rating is above the middle of the scale (DREAMER 1-5:
 *   4 and 5 are high; DEAP 1-9: above 5), the usual binarisation in the emotion literature;
 * - 5 levels: "1".."5", the rating itself on DREAMER's scale (other scales are mapped linearly
 *   onto 1-5 and rounded);
 * - SEED has categories, not ratings: valence becomes "negative" / "neutral" / "positive" and
 *   arousal is not available.
 * Classes are listed in their natural order (low before high), which the ordinal label smoothing
 * and the continuous score rely on.
 */
export type Levels = 2 | 5;

export interface TargetClasses {
  readonly classes: readonly string[];
  /** The class of a trial, or undefined when the trial has no rating for the target. */
  classOf(trial: EmotionTrial): string | undefined;
}

const CATEGORIES = ['negative', 'neutral', 'positive'] as const;

export function targetClasses(dataset: Pick<EmotionDataset, 'name' | 'ratingScale'>, target: EmotionTarget, levels: Levels): TargetClasses {
  const scale = dataset.ratingScale;
  if (!scale) {
    if (target !== 'valence') throw new Error(`dataset "${dataset.name}" has emotion categories, not ratings: only --target valence is available`);
    return { classes: CATEGORIES, classOf: (t) => (t.category && (CATEGORIES as readonly string[]).includes(t.category) ? t.category : undefined) };
  }
  const { min, max } = scale;
  const rating = (t: EmotionTrial): number | undefined => {
    const r = t.ratings[target];
    return r === undefined || !Number.isFinite(r) ? undefined : r;
  };
  if (levels === 2) {
    const middle = (min + max) / 2;
    return {
      classes: ['low', 'high'],
      classOf: (t) => {
        const r = rating(t);
        return r === undefined ? undefined : r > middle ? 'high' : 'low';
      },
    };
  }
  return {
    classes: ['1', '2', '3', '4', '5'],
    classOf: (t) => {
      const r = rating(t);
      if (r === undefined) return undefined;
      const level = Math.round(1 + ((r - min) / (max - min)) * 4);
      return String(Math.min(5, Math.max(1, level)));
    },
  };
}
