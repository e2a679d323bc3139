import { z } from 'zod';
import type { SensorPosition } from '../../src/stream/types.js';
import { BrainModuleModel } from '../../src/ml/brain-module/brain-module-model.js';
import { trainBrainModule } from '../../src/ml/brain-module/brain-module-trainer.js';
import { initTfjsBackend } from '../../src/ml/tfjs/backend.js';
import { Ridge } from '../../src/ml/ridge.js';

/** Decoders from an epoch's features (time bins x channels, time-major) to an image embedding. */
export const megDecoderSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('meg-ridge') }).strict(),
  z
    .object({
      kind: z.literal('meg-brain-module'),
      epochs: z.number().int().min(1).max(10_000).default(40).describe('at most; early stopping on held-out training images'),
      learningRate: z.number().positive().max(10).default(1e-3),
      batchSize: z.number().int().min(2).max(65_536).default(256).describe('windows per step: the CLIP loss contrasts the windows of a batch'),
      dropout: z.number().min(0).max(0.9).default(0.5).describe('dropout on the pooled features'),
      mseWeight: z.number().min(0).max(1000).default(0.5).describe('weight of the MSE term beside the CLIP loss'),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .default(1),
    })
    .strict(),
]);
export type MegDecoderSpec = z.infer<typeof megDecoderSpec>;
export const MEG_DECODER_KINDS = ['meg-ridge', 'meg-brain-module'] as const;

/** What a decoder is trained on: n windows of T x C features, their targets (n x D), image ids, subject indices. */
export interface MegTrainingSet {
  readonly X: Float32Array;
  readonly n: number;
  readonly T: number;
  readonly C: number;
  readonly Y: Float32Array;
  readonly D: number;
  readonly groups: readonly string[];
  readonly subjects?: Int32Array;
  readonly positions: readonly SensorPosition[];
}

export interface MegDecoder {
  readonly kind: MegDecoderSpec['kind'];
  /** Embeddings (n x D) of n feature windows. */
  embed(X: Float32Array, n: number, subjects?: Int32Array): Float32Array;
  readonly parameterCount: number;
  toJSON(): { kind: string };
  dispose(): void;
}

export async function fitMegDecoder(spec: MegDecoderSpec, set: MegTrainingSet): Promise<MegDecoder> {
  const p = set.T * set.C;
  if (spec.kind === 'meg-ridge') {
    // Leave-one-image-out CV of alpha over the training images. Few features: the primal SVD;
    // otherwise the dual (kernel) form, fast at a few thousand epochs even when they outnumber
    // the features (the primal SVD of a 4800 x 4080 matrix takes over ten minutes here).
    const ridge = Ridge.fit(set.X, set.n, p, set.Y, set.D, { groups: set.groups, solver: p <= 1000 ? 'primal' : 'dual' });
    return {
      kind: 'meg-ridge',
      embed: (X, n) => Float32Array.from(ridge.predictBatch(X, n, undefined, { deviation: true })),
      parameterCount: (p + 1) * set.D,
      toJSON: () => ({ kind: 'meg-ridge', ridge: ridge.toJSON() }),
      dispose: () => {},
    };
  }
  const { model } = await trainBrainModule(set.X, set.Y, {
    positions: set.positions,
    timePoints: set.T,
    groups: set.groups,
    ...(set.subjects ? { subjects: set.subjects } : {}),
    epochs: spec.epochs,
    learningRate: spec.learningRate,
    batchSize: spec.batchSize,
    spec: { dropout: spec.dropout },
    mseWeight: spec.mseWeight,
    seed: spec.seed,
  });
  return brainDecoder(model);
}

function brainDecoder(model: BrainModuleModel): MegDecoder {
  return {
    kind: 'meg-brain-module',
    embed: (X, n, subjects) => model.predict(X, n, subjects),
    parameterCount: model.parameterCount,
    toJSON: () => ({ kind: 'meg-brain-module', network: model.toState() }),
    dispose: () => model.dispose(),
  };
}

/** Rebuilds a saved decoder; errors name the field. */
export async function restoreMegDecoder(json: { kind: string } & Record<string, unknown>): Promise<MegDecoder> {
  if (json.kind === 'meg-ridge') {
    const ridge = Ridge.fromJSON(json.ridge, 'decoder.ridge');
    return { kind: 'meg-ridge', embed: (X, n) => Float32Array.from(ridge.predictBatch(X, n, undefined, { deviation: true })), parameterCount: 0, toJSON: () => json, dispose: () => {} };
  }
  if (json.kind === 'meg-brain-module') {
    await initTfjsBackend();
    return brainDecoder(BrainModuleModel.fromState(json.network as Parameters<typeof BrainModuleModel.fromState>[0]));
  }
  throw new Error(`decoder.kind: unknown MEG decoder "${json.kind}" (expected ${MEG_DECODER_KINDS.join(' or ')})`);
}
