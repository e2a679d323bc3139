import type { z } from 'zod';
import { HistnModel, type HistnState } from '../../src/ml/histn/histn-model.js';
import { trainHistn } from '../../src/ml/histn/histn-trainer.js';
import { Random } from '../../src/util/random.js';
import { initTfjsBackend } from '../../src/ml/tfjs/backend.js';
import { frameLength, type FrameLayout } from './feature-sequences.js';
import type { EmotionDecoder, FitProgress, TrainingSet } from './emotion-decoder.js';
import type { emotionHistnSpec } from './emotion-decoder-spec.js';

type Spec = z.infer<typeof emotionHistnSpec>;

export interface HistnEmotionState {
  readonly kind: 'emotion-histn';
  readonly spec: Spec;
  readonly classes: readonly string[];
  readonly sequenceLength: number;
  readonly frameLength: number;
  readonly network: HistnState;
}

/** Share of the training subjects held out to stop training early. */
const VALIDATION_SHARE = 0.15;

/**
 * The HiSTN-like network (src/ml/histn) on the differential-entropy part of each frame: the input
 * of a sequence is [frames, electrodes, bands], z-scored per subject.
 */
export class HistnEmotionDecoder implements EmotionDecoder {
  readonly kind = 'emotion-histn' as const;
  private readonly input: Float32Array;
  private readonly C: number;
  private readonly F: number;

  private constructor(
    readonly state: Omit<HistnEmotionState, 'network'>,
    private readonly network: HistnModel,
  ) {
    this.C = network.channels.length;
    this.F = network.featureCount;
    this.input = new Float32Array(state.sequenceLength * this.C * this.F);
  }

  get classes(): readonly string[] {
    return this.state.classes;
  }

  get sequenceLength(): number {
    return this.state.sequenceLength;
  }

  get parameterCount(): number {
    return this.network.parameterCount;
  }

  static async fit(spec: Spec, set: TrainingSet, progress: FitProgress = {}): Promise<HistnEmotionDecoder> {
    const { sequenceLength: T, frameLength: L, count } = set;
    const C = set.layout.channels.length;
    const F = set.layout.bands.length;
    const X = new Float32Array(count * T * C * F);
    for (let i = 0; i < count; i++) deInput(set.sequences.subarray(i * T * L, (i + 1) * T * L), T, L, C * F, X.subarray(i * T * C * F, (i + 1) * T * C * F));
    const { model } = await trainHistn(X, set.labels, {
      channels: set.layout.channels,
      featureCount: F,
      sequenceLength: T,
      classes: set.classes,
      spec: { embedding: spec.embedding, temporalFilters: spec.temporalFilters, kernelSize: spec.kernelSize, seed: spec.seed },
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      learningRate: spec.learningRate,
      sigma: spec.ordinalSigma,
      epsilon: spec.labelSmoothing,
      classWeights: 'balanced',
      seed: spec.seed,
      ...(set.groups ? { validation: validationByGroup(set.groups, spec.seed) } : {}),
      onEpoch: (e) => progress.onEpoch?.(e.epoch, e.loss, e.validationAccuracy ?? undefined),
    });
    return new HistnEmotionDecoder({ kind: 'emotion-histn', spec, classes: set.classes, sequenceLength: T, frameLength: L }, model);
  }

  /** Rebuilds a saved decoder (selecting the tfjs backend first: a new process has none yet). */
  static async restore(state: HistnEmotionState, layout: FrameLayout): Promise<HistnEmotionDecoder> {
    await initTfjsBackend();
    const { network, ...rest } = state;
    if (!network || typeof network !== 'object') throw new Error('network: missing');
    const model = HistnModel.fromState(network);
    const mismatch =
      model.sequenceLength !== rest.sequenceLength
        ? `network.sequenceLength is ${model.sequenceLength}, expected ${rest.sequenceLength}`
        : model.channels.join(',') !== layout.channels.join(',')
          ? `network.channels (${model.channels.join(',')}) differ from the model's layout (${layout.channels.join(',')})`
          : model.featureCount !== layout.bands.length
            ? `network.featureCount is ${model.featureCount}, the layout has ${layout.bands.length} bands`
            : rest.frameLength !== frameLength(layout)
              ? `frameLength is ${rest.frameLength}, the layout gives ${frameLength(layout)}`
              : undefined;
    if (mismatch) {
      model.dispose();
      throw new Error(mismatch);
    }
    return new HistnEmotionDecoder(rest, model);
  }

  probabilities(sequence: Float32Array, out: Float64Array = new Float64Array(this.classes.length)): Float64Array {
    const { sequenceLength: T, frameLength: L } = this.state;
    deInput(sequence, T, L, this.C * this.F, this.input);
    const p = this.network.predict(this.input, 1);
    for (let k = 0; k < out.length; k++) out[k] = p[k];
    return out;
  }

  probabilitiesBatch(sequences: Float32Array, count: number): Float32Array {
    const { sequenceLength: T, frameLength: L } = this.state;
    const CF = this.C * this.F;
    const X = new Float32Array(count * T * CF);
    for (let i = 0; i < count; i++) deInput(sequences.subarray(i * T * L, (i + 1) * T * L), T, L, CF, X.subarray(i * T * CF, (i + 1) * T * CF));
    return this.network.predict(X, count);
  }

  toJSON(): HistnEmotionState {
    return { ...this.state, network: this.network.toState() };
  }

  dispose(): void {
    this.network.dispose();
  }
}

/** The differential-entropy block (the first `CF` values of each frame) of a sequence, [T, C, F]. */
function deInput(sequence: Float32Array, T: number, L: number, CF: number, out: Float32Array): void {
  for (let t = 0; t < T; t++) out.set(sequence.subarray(t * L, t * L + CF), t * CF);
}

/** Indices of the sequences of a seeded ~15% of the groups (at least one, never all). */
function validationByGroup(groups: readonly string[], seed: number): number[] {
  const unique = [...new Set(groups)];
  if (unique.length < 3) return [];
  const n = Math.max(1, Math.round(unique.length * VALIDATION_SHARE));
  const held = new Set(new Random(seed ^ 0x5a1d).shuffle([...unique]).slice(0, n));
  return groups.flatMap((g, i) => (held.has(g) ? [i] : []));
}
