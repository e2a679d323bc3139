import type { EmotionDataset } from '../../devices/datasets/emotion/emotion-dataset.js';
import { datasetFrames, trainingSet } from './dataset-features.js';
import type { EmotionDecoder } from './emotion-decoder.js';
import { fitEmotionDecoder } from './emotion-decoders.js';
import { EMOTION_MODEL_FORMAT, EMOTION_MODEL_VERSION, EmotionModel } from './model.js';
import type { EmotionSettings } from './settings.js';
import { EMOTION_TARGETS, targetClasses, type EmotionTarget } from './targets.js';

/** Training sequences start every this many frames (neighbours overlap almost entirely). */
const TRAIN_STRIDE = 2;

/**
 * Trains a valence and an arousal decoder (arousal only where the dataset rates it) on every
 * subject of `dataset`, with the features, sequence length and levels of `settings`.
 */
export async function trainEmotionModel(dataset: EmotionDataset, settings: EmotionSettings, log: (line: string) => void = () => {}): Promise<EmotionModel> {
  const frames = await datasetFrames(dataset, settings.features);
  const subjects = new Set(frames.subjects.map((s) => s.subject));
  const decoders: Partial<Record<EmotionTarget, EmotionDecoder>> = {};
  try {
    for (const target of EMOTION_TARGETS) {
      if (!dataset.ratingScale && target !== 'valence') continue;
      const set = trainingSet(frames, subjects, targetClasses(dataset, target, settings.levels), settings.sequenceLength, TRAIN_STRIDE);
      decoders[target] = await fitEmotionDecoder(settings.decoder, set, {
        onEpoch: (epoch, loss) => {
          if (epoch % 10 === 0) log(`${target}: epoch ${epoch} loss ${loss.toFixed(4)}`);
        },
      });
      log(`${target}: ${settings.decoder.kind} trained on ${set.count} sequences of ${subjects.size} subjects`);
    }
  } catch (e) {
    for (const d of Object.values(decoders)) d.dispose?.();
    throw e;
  }
  return new EmotionModel(
    {
      format: EMOTION_MODEL_FORMAT,
      version: EMOTION_MODEL_VERSION,
      sampleRate: dataset.sampleRate,
      layout: {
        channels: [...frames.layout.channels],
        bands: [...frames.layout.bands],
        asymmetryPairs: frames.layout.asymmetryPairs.map(([l, r]): [string, string] => [l, r]),
      },
      features: settings.features,
      sequenceLength: settings.sequenceLength,
      trainedOn: { dataset: dataset.name, subjects: [...subjects] },
    },
    decoders,
  );
}
