import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { issueLines } from '../../src/util/zod-issues.js';
import { EpochFeatures } from '../../src/retrieval/epoch-features.js';
import { Gallery } from '../../src/retrieval/gallery.js';
import { restoreMegDecoder, type MegDecoder } from './meg-decoder.js';

export const MEG_MODEL_FORMAT = 'neurorx.meg-image';
export const MEG_MODEL_VERSION = 1;

const fileSchema = z
  .object({
    format: z.literal(MEG_MODEL_FORMAT),
    version: z.literal(MEG_MODEL_VERSION),
    sampleRate: z.number().positive(),
    channels: z.array(z.string()).min(1),
    epoch: z.object({ tmin: z.number(), tmax: z.number() }),
    features: z.unknown(),
    decoder: z.object({ kind: z.string() }).passthrough(),
    gallery: z.unknown(),
  })
  .strict();

/** Epoch features, a decoder to the embedding space and the gallery it retrieves from. */
export class MegImageModel {
  constructor(
    readonly sampleRate: number,
    readonly channels: readonly string[],
    readonly epoch: { tmin: number; tmax: number },
    readonly features: EpochFeatures,
    readonly decoder: MegDecoder,
    readonly gallery: Gallery,
  ) {}

  toJSON(): unknown {
    return {
      format: MEG_MODEL_FORMAT,
      version: MEG_MODEL_VERSION,
      sampleRate: this.sampleRate,
      channels: this.channels,
      epoch: this.epoch,
      features: this.features.toJSON(),
      decoder: this.decoder.toJSON(),
      gallery: this.gallery.toJSON(),
    };
  }

  async save(path: string): Promise<void> {
    await writeFile(path, JSON.stringify(this.toJSON()));
  }

  static async load(path: string): Promise<MegImageModel> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: cannot read the MEG model: ${(e as Error).message}`);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${path}: not a neurorx MEG image model\n${issueLines(parsed.error)}`);
    const f = parsed.data;
    const features = EpochFeatures.fromJSON(f.features, `${path}: features`);
    if (features.channels !== f.channels.length) throw new Error(`${path}: features.channels is ${features.channels}, the model has ${f.channels.length} channels`);
    const gallery = Gallery.fromJSON(f.gallery, `${path}: gallery`);
    let decoder: MegDecoder;
    try {
      decoder = await restoreMegDecoder(f.decoder);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    return new MegImageModel(f.sampleRate, f.channels, f.epoch, features, decoder, gallery);
  }

  dispose(): void {
    this.decoder.dispose();
  }
}
