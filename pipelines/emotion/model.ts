import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { issueLines } from '../../src/util/zod-issues.js';
import type { EmotionDecoder } from './emotion-decoder.js';
import { restoreEmotionDecoder } from './emotion-decoders.js';
import type { FrameLayout } from './feature-sequences.js';
import { featureSettingsSchema } from './settings.js';
import { EMOTION_TARGETS, type EmotionTarget } from './targets.js';

export const EMOTION_MODEL_FORMAT = 'neurorx.emotion';
export const EMOTION_MODEL_VERSION = 1;

const decoderState = z.object({ kind: z.enum(['emotion-linear', 'emotion-histn']), classes: z.array(z.string()).min(2), sequenceLength: z.number().int().min(1) }).passthrough();

/** The saved form of a trained emotion model: features, layout and one decoder per target. */
export const emotionModelFileSchema = z
  .object({
    format: z.literal(EMOTION_MODEL_FORMAT),
    version: z.literal(EMOTION_MODEL_VERSION),
    sampleRate: z.number().positive(),
    layout: z.object({
      channels: z.array(z.string()).min(1),
      bands: z.array(z.string()).min(1),
      asymmetryPairs: z.array(z.tuple([z.string(), z.string()])),
    }),
    features: featureSettingsSchema,
    sequenceLength: z.number().int().min(1),
    decoders: z.object({ valence: decoderState.optional(), arousal: decoderState.optional() }).refine((d) => d.valence || d.arousal, { message: 'needs a valence or an arousal decoder' }),
    trainedOn: z.object({ dataset: z.string(), subjects: z.array(z.string()) }),
  })
  .strict();

export type EmotionModelFile = z.infer<typeof emotionModelFileSchema>;

/** One decoder per target (valence, arousal) with the feature settings they were trained under. */
export class EmotionModel {
  constructor(
    readonly file: Omit<EmotionModelFile, 'decoders'>,
    readonly decoders: Partial<Record<EmotionTarget, EmotionDecoder>>,
  ) {}

  get layout(): FrameLayout {
    return this.file.layout;
  }

  get targets(): EmotionTarget[] {
    return EMOTION_TARGETS.filter((t) => this.decoders[t]);
  }

  toJSON(): EmotionModelFile {
    const decoders: Record<string, unknown> = {};
    for (const t of this.targets) decoders[t] = this.decoders[t]!.toJSON();
    return { ...this.file, decoders };
  }

  async save(path: string): Promise<void> {
    await writeFile(path, JSON.stringify(this.toJSON()));
  }

  static async parse(json: unknown, origin: string): Promise<EmotionModel> {
    const parsed = emotionModelFileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${origin}: not a neurorx emotion model\n${issueLines(parsed.error)}`);
    const { decoders: states, ...file } = parsed.data;
    const decoders: Partial<Record<EmotionTarget, EmotionDecoder>> = {};
    for (const t of EMOTION_TARGETS) {
      const state = states[t];
      if (!state) continue;
      if (state.sequenceLength !== file.sequenceLength) throw new Error(`${origin}: decoders.${t}.sequenceLength is ${state.sequenceLength}, the model's is ${file.sequenceLength}`);
      try {
        decoders[t] = await restoreEmotionDecoder(state, file.layout);
      } catch (e) {
        for (const d of Object.values(decoders)) d.dispose?.();
        throw new Error(`${origin}: decoders.${t}: ${(e as Error).message}`);
      }
    }
    return new EmotionModel(file, decoders);
  }

  static async load(path: string): Promise<EmotionModel> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new Error(`${path}: cannot read emotion model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
    }
    return EmotionModel.parse(json, path);
  }

  dispose(): void {
    for (const t of this.targets) this.decoders[t]!.dispose?.();
  }
}
