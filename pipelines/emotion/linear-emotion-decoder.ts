import { Lda, type LdaState } from '../../src/ml/lda.js';
import { LogisticRegression, type LogisticRegressionState } from '../../src/ml/logistic-regression.js';
import { z } from 'zod';
import { issueLines } from '../../src/util/zod-issues.js';
import { emotionLinearSpec } from './emotion-decoder-spec.js';
import { frameLength, type FrameLayout } from './feature-sequences.js';
import type { EmotionDecoder, TrainingSet } from './emotion-decoder.js';

type Spec = z.infer<typeof emotionLinearSpec>;

export interface LinearEmotionState {
  readonly kind: 'emotion-linear';
  readonly spec: Spec;
  readonly classes: readonly string[];
  readonly sequenceLength: number;
  readonly frameLength: number;
  readonly model: { lda: LdaState } | { logistic: LogisticRegressionState };
}

const finite = z.number().finite();
const linearStateSchema = z.object({
  kind: z.literal('emotion-linear'),
  spec: emotionLinearSpec,
  classes: z.array(z.string()).min(2),
  sequenceLength: z.number().int().min(1),
  frameLength: z.number().int().min(1),
  model: z.union([
    z.object({ lda: z.object({ classes: z.array(z.string()).min(2), coef: z.array(z.array(finite)), intercept: z.array(finite), priors: z.array(finite) }) }),
    z.object({ logistic: z.object({ classes: z.array(z.string()).min(2), coef: z.array(z.array(finite)), intercept: z.array(finite) }) }),
  ]),
});

/**
 * The linear baseline: every feature of the frame vector (differential entropy, log band power,
 * frontal asymmetry), averaged over the sequence's frames, into shrinkage LDA (default) or L2
 * logistic regression.
 */
export class LinearEmotionDecoder implements EmotionDecoder {
  readonly kind = 'emotion-linear' as const;
  private readonly mean: Float64Array;
  private readonly scratch: Float64Array;
  /** Natural class index -> the classifier's (sorted) index. */
  private readonly order: number[];
  private readonly classifier: Lda | LogisticRegression;

  /** Validates a saved state against the model's feature layout; errors name the field. */
  static restore(json: unknown, layout: FrameLayout): LinearEmotionDecoder {
    const parsed = linearStateSchema.safeParse(json);
    if (!parsed.success) throw new Error(issueLines(parsed.error).trim());
    const state = parsed.data as LinearEmotionState;
    if (state.frameLength !== frameLength(layout)) throw new Error(`frameLength is ${state.frameLength}, the layout gives ${frameLength(layout)}`);
    const inner = 'lda' in state.model ? state.model.lda : state.model.logistic;
    const key = 'lda' in state.model ? 'model.lda' : 'model.logistic';
    if (inner.coef.length !== inner.classes.length || inner.intercept.length !== inner.classes.length) {
      throw new Error(`${key}: ${inner.classes.length} classes but ${inner.coef.length} coefficient rows and ${inner.intercept.length} intercepts`);
    }
    const bad = inner.coef.findIndex((row) => row.length !== state.frameLength);
    if (bad >= 0) throw new Error(`${key}.coef.${bad}: ${inner.coef[bad].length} coefficients, expected ${state.frameLength}`);
    return new LinearEmotionDecoder(state);
  }

  constructor(readonly state: LinearEmotionState) {
    this.mean = new Float64Array(state.frameLength);
    this.classifier = 'lda' in state.model ? new Lda(state.model.lda) : new LogisticRegression(state.model.logistic);
    const inner = 'lda' in state.model ? state.model.lda.classes : state.model.logistic.classes;
    const unknown = inner.filter((c) => !state.classes.includes(c));
    if (unknown.length > 0) throw new Error(`emotion-linear: classifier classes ${unknown.join(', ')} are not among ${state.classes.join(', ')}`);
    this.order = state.classes.map((c) => inner.indexOf(c));
    this.scratch = new Float64Array(inner.length);
  }

  get classes(): readonly string[] {
    return this.state.classes;
  }

  get sequenceLength(): number {
    return this.state.sequenceLength;
  }

  static fit(spec: Spec, set: TrainingSet): LinearEmotionDecoder {
    const { sequenceLength: T, frameLength: L } = set;
    const features: Float64Array[] = [];
    for (let i = 0; i < set.count; i++) features.push(averageFrames(set.sequences.subarray(i * T * L, (i + 1) * T * L), T, L, new Float64Array(L)));
    const labels = set.labels.map((k) => set.classes[k]);
    const present = [...new Set(labels)];
    if (present.length < 2) throw new Error(`emotion-linear: the training data hold only class ${present.join(', ') || '(none)'}`);
    const model =
      spec.classifier === 'lda'
        ? { lda: Lda.fit(features, labels, { shrinkage: spec.shrinkage === 0 ? undefined : spec.shrinkage }).state }
        : { logistic: LogisticRegression.fit(features, labels, { c: spec.c }).state };
    return new LinearEmotionDecoder({ kind: 'emotion-linear', spec, classes: set.classes, sequenceLength: T, frameLength: L, model });
  }

  probabilities(sequence: Float32Array, out: Float64Array = new Float64Array(this.classes.length)): Float64Array {
    averageFrames(sequence, this.state.sequenceLength, this.state.frameLength, this.mean);
    const p = this.classifier.probabilities(this.mean, this.scratch);
    // A class absent from the training data has probability 0.
    for (let k = 0; k < this.order.length; k++) out[k] = this.order[k] >= 0 ? p[this.order[k]] : 0;
    return out;
  }

  toJSON(): LinearEmotionState {
    return this.state;
  }
}

function averageFrames(seq: Float32Array, T: number, L: number, out: Float64Array): Float64Array {
  out.fill(0);
  for (let t = 0; t < T; t++) for (let i = 0; i < L; i++) out[i] += seq[t * L + i];
  for (let i = 0; i < L; i++) out[i] /= T;
  return out;
}
