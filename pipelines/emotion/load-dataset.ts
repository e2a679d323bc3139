import type { EmotionDataset } from '../../devices/datasets/emotion/emotion-dataset.js';
import { openEmotionDataset, subjectNumber } from '../../devices/datasets/emotion/open-emotion-dataset.js';
import { generateAffectiveDatasetAsync } from '../../devices/synthetic/affective.js';

export { EMOTION_DATASET_NAMES as EMOTION_DATASETS } from '../../devices/datasets/emotion/open-emotion-dataset.js';

/**
 * An emotion dataset by name: neurorx's simulated one (`subjects` people, seeded), or one of the
 * public datasets the user downloaded (read from `path`, default under `dataDir`).
 */
export async function loadEmotionDataset(name: string, opts: { dataDir: string; path?: string; subjects?: readonly number[]; seed?: number }): Promise<EmotionDataset> {
  const { subjects } = opts;
  // The simulated study has people 1..N: make as many as the highest one asked for.
  const dataset = await openEmotionDataset(name, {
    path: opts.path,
    dataDir: opts.dataDir,
    subjects,
    synthetic: () => generateAffectiveDatasetAsync({ subjects: subjects ? Math.max(...subjects) : undefined, seed: opts.seed }),
  });
  if (!subjects) return dataset;
  const keep = new Set(subjects);
  const missing = subjects.filter((n) => !dataset.subjects.some((s) => subjectNumber(s.id) === n));
  if (missing.length > 0) throw new Error(`${dataset.name} has no subject ${missing.join(', ')} (it has ${dataset.subjects.map((s) => s.id).join(', ')})`);
  return { ...dataset, subjects: dataset.subjects.filter((s) => keep.has(subjectNumber(s.id) ?? NaN)) };
}
