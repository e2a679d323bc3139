import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Decoder, SignalBlock } from '../../src/ml/decoders/decoder.js';
import { restoreDecoder } from '../../src/ml/decoders/registry.js';
import { firstIssue } from '../../src/util/zod-issues.js';

export const MODEL_FORMAT = 'neurorx.motor-imagery';
export const MODEL_VERSION = 2;

/** The saved form of a trained motor-imagery model (versioned JSON). */
export const modelFileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  sampleRate: z.number().positive(),
  channels: z.array(z.string()).min(2),
  preprocessing: z.object({
    reference: z.enum(['none', 'average']),
    notch: z.object({ freq: z.number(), q: z.number() }).nullable(),
    bandpass: z.object({ low: z.number(), high: z.number(), order: z.number().int() }),
    filterBank: z
      .object({ bands: z.array(z.object({ low: z.number(), high: z.number() })).min(1), order: z.number().int().min(1) })
      .nullable()
      .default(null),
  }),
  epoch: z.object({ tmin: z.number(), tmax: z.number() }),
  /** The decoder's own state (see src/ml/decoders/decoder-state.ts), validated when loaded. */
  decoder: z.object({ kind: z.string() }).passthrough(),
  /** Cross-validated accuracy on the calibration trials, when measured. */
  calibrationAccuracy: z.number().nullable(),
  trials: z.record(z.string(), z.number().int()),
});

export type ModelFile = z.infer<typeof modelFileSchema>;

/** A trained decoder with the preprocessing and channels it was trained under. */
export class MotorImageryModel {
  private readonly probs: Float64Array;

  constructor(
    readonly file: Omit<ModelFile, 'decoder'>,
    readonly decoder: Decoder,
  ) {
    this.probs = new Float64Array(decoder.classes.length);
  }

  get classes(): readonly string[] {
    return this.decoder.classes;
  }

  /** Class probabilities for a block of preprocessed samples (in `classes` order; buffer reused). */
  probabilities(block: SignalBlock): Float64Array {
    return this.decoder.probabilities(block, this.probs);
  }

  toJSON(): ModelFile {
    return { ...this.file, decoder: this.decoder.toJSON() };
  }

  static async parse(json: unknown, origin: string, baseDir = '.'): Promise<MotorImageryModel> {
    const parsed = modelFileSchema.safeParse(json);
    if (!parsed.success) {
      throw new Error(`${origin}: not a ${MODEL_FORMAT} v${MODEL_VERSION} model: ${firstIssue(parsed.error)}`);
    }
    const { decoder: state, ...file } = parsed.data;
    const decoder = await restoreDecoder(withBaseDir(state, baseDir), origin);
    return new MotorImageryModel(file, decoder);
  }

  static async load(file: string): Promise<MotorImageryModel> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new Error(`model ${file}: ${(e as Error).message}`);
    }
    return MotorImageryModel.parse(json, `model ${file}`, path.dirname(file));
  }

  /** Writes the model JSON (EEGNet also writes its TensorFlow.js weights beside it). */
  async save(file: string): Promise<void> {
    if (this.decoder.saveFiles) await this.decoder.saveFiles(path.dirname(file), path.basename(file, '.json'));
    const state = this.decoder.toJSON();
    await writeFile(file, JSON.stringify({ ...this.file, decoder: state }, null, 1) + '\n');
  }
}

/** Decoders that keep files beside the model JSON name them relative to it. */
function withBaseDir(state: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  return typeof state.model === 'string' ? { ...state, model: path.resolve(baseDir, state.model) } : state;
}
