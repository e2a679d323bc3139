import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { Csp } from '../../src/ml/csp.js';
import { Lda } from '../../src/ml/lda.js';
import type { SignalBlock } from '../../src/ml/csp.js';

export const MODEL_FORMAT = 'neurorx.motor-imagery.csp-lda';
export const MODEL_VERSION = 1;

const matrix = z.array(z.array(z.number()));

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
  }),
  epoch: z.object({ tmin: z.number(), tmax: z.number() }),
  csp: z.object({
    classes: z.tuple([z.string(), z.string()]),
    filters: matrix,
    patterns: matrix,
    eigenvalues: z.array(z.number()),
  }),
  lda: z.object({
    classes: z.array(z.string()),
    coef: matrix,
    intercept: z.array(z.number()),
    priors: z.array(z.number()),
  }),
  /** Cross-validated accuracy on the calibration trials, when measured. */
  calibrationAccuracy: z.number().nullable(),
  trials: z.record(z.string(), z.number().int()),
});

export type ModelFile = z.infer<typeof modelFileSchema>;

/** CSP + LDA with the preprocessing it was trained under. */
export class MotorImageryModel {
  readonly csp: Csp;
  readonly lda: Lda;
  private readonly features: Float64Array;
  private readonly probs: Float64Array;

  constructor(readonly file: ModelFile) {
    this.csp = new Csp(file.csp);
    this.lda = new Lda(file.lda);
    const k = file.csp.filters.length;
    if (file.csp.filters.some((row) => row.length !== file.channels.length)) {
      throw new Error(`model: csp.filters rows must have ${file.channels.length} values (one per channel)`);
    }
    if (file.lda.coef.some((row) => row.length !== k)) throw new Error(`model: lda.coef rows must have ${k} values (one per CSP component)`);
    this.features = new Float64Array(k);
    this.probs = new Float64Array(file.lda.classes.length);
  }

  get classes(): readonly string[] {
    return this.file.lda.classes;
  }

  /** Class probabilities for a block of preprocessed samples (in `classes` order). */
  probabilities(block: SignalBlock): Float64Array {
    this.csp.logPower(block, this.file.channels.length, this.features);
    return this.lda.probabilities(this.features, this.probs);
  }

  toJSON(): ModelFile {
    return this.file;
  }

  static parse(json: unknown, origin: string): MotorImageryModel {
    const parsed = modelFileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${origin}: not a ${MODEL_FORMAT} v${MODEL_VERSION} model: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return new MotorImageryModel(parsed.data);
  }

  static async load(path: string): Promise<MotorImageryModel> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new Error(`model ${path}: ${(e as Error).message}`);
    }
    return MotorImageryModel.parse(json, `model ${path}`);
  }

  async save(path: string): Promise<void> {
    await writeFile(path, JSON.stringify(this.file, null, 1) + '\n');
  }
}
