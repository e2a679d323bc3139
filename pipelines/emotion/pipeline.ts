import { concat, defer, map, mergeMap, Observable, of, switchMap, type OperatorFunction } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { ProbabilitySmoother } from '../../src/control/smoothing.js';
import { bandFeatures, type FeatureFrame } from '../../src/features/band-features.js';
import { normalizeFeatures } from '../../src/features/feature-normalizer.js';
import { argmax } from '../../src/ml/softmax.js';
import type { Chunk } from '../../src/stream/types.js';
import type { Source } from '../../devices/open-source.js';
import { reportStages, type PipelineHooks } from '../../src/stream/pipeline-hooks.js';
import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { writeFrameVector, frameLength } from './feature-sequences.js';
import { loadEmotionDataset } from './load-dataset.js';
import { EmotionModel } from './model.js';
import type { EmotionSettings } from './settings.js';
import type { EmotionTarget } from './targets.js';
import { expectedScore } from '../../src/ml/histn/ordinal-labels.js';
import { trainEmotionModel } from './train.js';

/** One target's verdict: the class, a continuous score in [-1, 1] and the class probabilities. */
export interface EmotionAxis {
  readonly label: string;
  readonly score: number;
  readonly probabilities: Readonly<Record<string, number>>;
}

/** Valence and arousal of one decision (smoothed), on the stream's clock. */
export interface EmotionDecision {
  readonly seq: number;
  readonly timestamp: number;
  readonly latencyMs: number;
  readonly valence?: EmotionAxis;
  readonly arousal?: EmotionAxis;
}

export type EmotionEvent = { kind: 'status'; state: 'calibrating' | 'running' | 'stopped'; detail: string; classes?: readonly string[] } | { kind: 'emotion'; emotion: EmotionDecision };

/**
 * Decodes each feature sequence of a live stream into valence and arousal: band features every
 * hop, z-scored with the stream's own resting baseline (its first `baselineSeconds`), the last
 * `sequenceLength` frames into each target's decoder, probabilities smoothed across decisions.
 */
export function decodeEmotion(model: EmotionModel, settings: EmotionSettings): OperatorFunction<Chunk, EmotionDecision> {
  const { layout, features, sequenceLength: T } = model.file;
  const L = frameLength(layout);
  const targets = model.targets;
  return (chunks$) =>
    defer(() => {
      const ring = new Float32Array(T * L);
      const sequence = new Float32Array(T * L);
      let frames = 0;
      let seq = 0;
      const smoothers = new Map(targets.map((t) => [t, new ProbabilitySmoother(settings.smoothing)]));
      const probs = new Map(targets.map((t) => [t, new Float64Array(model.decoders[t]!.classes.length)]));
      return chunks$.pipe(
        bandFeatures({ ...features, channels: [...layout.channels], asymmetryPairs: layout.asymmetryPairs.map(([l, r]) => [l, r] as [string, string]) }),
        normalizeFeatures({ baselineSeconds: settings.normalization.baselineSeconds, mode: settings.normalization.mode, halfLife: settings.normalization.halfLifeSeconds / features.hop }),
        mergeMap((frame: FeatureFrame) => {
          writeFrameVector(frame, ring, (frames % T) * L);
          frames++;
          if (frames < T) return [];
          // Oldest first: the ring's slot after the newest frame holds the oldest.
          for (let t = 0; t < T; t++) sequence.set(ring.subarray(((frames + t) % T) * L, (((frames + t) % T) + 1) * L), t * L);
          const out: Partial<Record<EmotionTarget, EmotionAxis>> = {};
          for (const target of targets) {
            const decoder = model.decoders[target]!;
            const p = decoder.probabilities(sequence, probs.get(target));
            const raw: Record<string, number> = {};
            decoder.classes.forEach((c, k) => (raw[c] = p[k]));
            const smoothed = smoothers.get(target)!.smooth(raw);
            const ordered = decoder.classes.map((c) => smoothed[c]);
            out[target] = { label: decoder.classes[argmax(ordered)], score: expectedScore(ordered), probabilities: smoothed };
          }
          return [{ seq: seq++, timestamp: frame.endTime, latencyMs: performance.now() - frame.receivedAt, ...out }];
        }),
      );
    });
}

/** Obtains the model the settings ask for: loads it, or trains it on a dataset (and saves it if asked). */
export async function emotionModelFor(settings: EmotionSettings, log: (line: string) => void = () => {}): Promise<EmotionModel> {
  const cal = settings.calibration;
  if (cal.from === 'model') return EmotionModel.load(cal.path);
  const dataset = await loadEmotionDataset(cal.dataset, { dataDir: defaultDataDir(), path: cal.path, ...(cal.dataset === 'synthetic-emotion' ? { subjects: range(1, cal.subjects) } : {}) });
  const model = await trainEmotionModel(dataset, settings, log);
  if (settings.saveModel) await model.save(settings.saveModel);
  return model;
}

export interface EmotionPipelineOptions extends Omit<PipelineHooks, 'decodeFrom'> {
  log?: (line: string) => void;
  /** The model to use, when the caller obtains it (a session keeps its model across restarts). */
  model?: Promise<EmotionModel>;
  /** The model is the one of an earlier run: say so instead of "training". */
  reused?: boolean;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The emotion session: get a model, record the resting baseline, then stream decisions. */
export function emotionPipeline(source: Source, settings: EmotionSettings, opts: EmotionPipelineOptions = {}): Observable<EmotionEvent> {
  const cal = settings.calibration;
  return concat(
    of<EmotionEvent>({
      kind: 'status',
      state: 'calibrating',
      detail: opts.reused ? 'recording a new resting baseline' : cal.from === 'model' ? `loading ${cal.path}` : `training ${settings.decoder.kind} on ${cal.dataset}`,
    }),
    defer(() => opts.model ?? emotionModelFor(settings, opts.log)).pipe(
      switchMap((model) => {
        if (model.file.sampleRate !== source.info.sampleRate) {
          throw new Error(`the emotion model was trained at ${model.file.sampleRate} Hz but stream "${source.info.name}" runs at ${source.info.sampleRate} Hz`);
        }
        const classes = model.targets.flatMap((t) => model.decoders[t]!.classes.map((c) => `${t}:${c}`));
        opts.onModel?.(() => model.toJSON());
        return concat(
          of<EmotionEvent>({
            kind: 'status',
            state: 'running',
            detail: `decoding ${model.targets.join(' and ')} with ${settings.decoder.kind}; first ${settings.normalization.baselineSeconds} s are the resting baseline`,
            classes,
          }),
          source.chunks$.pipe(
            reportStages(opts.onStart, 'input', 'decode'),
            decodeEmotion(model, settings),
            map((emotion): EmotionEvent => ({ kind: 'emotion', emotion })),
          ),
          of<EmotionEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
        );
      }),
    ),
  );
}
