import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { issueLines } from '../util/zod-issues.js';

/**
 * The gallery an image decoder retrieves from: image ids (with optional labels, e.g. the image's
 * category) and one embedding vector per image, made by a pretrained image model (CLIP, DINOv2,
 * ...). A decoder maps brain activity into that embedding space; the nearest gallery images are
 * its decision (see top-k.ts).
 *
 * File format `neurorx.gallery`, version 1, JSON:
 *
 *     {
 *       "format": "neurorx.gallery",
 *       "version": 1,
 *       "dim": 768,
 *       "model": "free text: which image model made the embeddings (e.g. CLIP ViT-L/14, last layer)",
 *       "items": [
 *         { "id": "aardvark_01b", "label": "aardvark", "embedding": [0.0123, -0.044, ...] },
 *         ...
 *       ]
 *     }
 *
 * - `id`: non-empty, unique within the file.
 * - `label`: optional free text (category, concept).
 * - `embedding`: exactly `dim` finite numbers, not all zero. Any scale: the gallery keeps an
 *   L2-normalised copy (retrieval is by cosine similarity), and `toJSON` writes that copy.
 * - `model`: optional when reading (empty if absent), written always.
 *
 * Errors name the item index and field, e.g. `items.3.embedding: expected 768 values (dim), got
 * 767` or `items.9.id: duplicate id "dog_02" (first at items.4)`.
 */

export const GALLERY_FORMAT = 'neurorx.gallery';
export const GALLERY_VERSION = 1;

export interface GalleryItem {
  readonly id: string;
  readonly label?: string;
  readonly embedding: ArrayLike<number>;
}

export interface GalleryJson {
  format: typeof GALLERY_FORMAT;
  version: typeof GALLERY_VERSION;
  dim: number;
  model: string;
  items: { id: string; label?: string; embedding: number[] }[];
}

const gallerySchema = z
  .object({
    format: z.literal(GALLERY_FORMAT),
    version: z.literal(GALLERY_VERSION),
    dim: z.number().int().min(1),
    model: z.string().default(''),
    items: z.array(
      z
        .object({
          id: z.string().min(1),
          label: z.string().optional(),
          embedding: z.array(z.number()),
        })
        .strict(),
    ),
  })
  .strict()
  .superRefine((g, ctx) => {
    const first = new Map<string, number>();
    g.items.forEach((item, i) => {
      const prior = first.get(item.id);
      if (prior !== undefined) ctx.addIssue({ code: 'custom', path: ['items', i, 'id'], message: `duplicate id "${item.id}" (first at items.${prior})` });
      else first.set(item.id, i);
      if (item.embedding.length !== g.dim) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'embedding'], message: `expected ${g.dim} values (dim), got ${item.embedding.length}` });
      } else if (item.embedding.every((v) => v === 0)) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'embedding'], message: 'all zero (no direction to compare by cosine)' });
      }
    });
  });

export class GalleryError extends Error {
  override name = 'GalleryError';
}

export class Gallery {
  readonly ids: readonly string[];
  /** One per item; undefined where the item has none. */
  readonly labels: readonly (string | undefined)[];
  readonly dim: number;
  /** Number of items. */
  readonly size: number;
  /** Which image model made the embeddings (free text). */
  readonly model: string;
  /** `size * dim` values, item-major, each row L2-normalised. */
  readonly embeddings: Float32Array;
  private readonly index: ReadonlyMap<string, number>;

  private constructor(ids: string[], labels: (string | undefined)[], dim: number, model: string, embeddings: Float32Array) {
    this.ids = ids;
    this.labels = labels;
    this.dim = dim;
    this.size = ids.length;
    this.model = model;
    this.embeddings = embeddings;
    this.index = new Map(ids.map((id, i) => [id, i]));
  }

  /**
   * A gallery from items in memory (validated as a file would be; `source` prefixes errors).
   * Embeddings are copied and L2-normalised.
   */
  static fromItems(items: readonly GalleryItem[], opts: { model?: string; dim?: number; source?: string } = {}): Gallery {
    const dim = opts.dim ?? (items.length > 0 ? items[0].embedding.length : 0);
    return Gallery.fromJSON(
      {
        format: GALLERY_FORMAT,
        version: GALLERY_VERSION,
        dim,
        model: opts.model ?? '',
        items: items.map((it) => ({ id: it.id, ...(it.label !== undefined ? { label: it.label } : {}), embedding: Array.from(it.embedding) })),
      },
      opts.source ?? 'gallery',
    );
  }

  /** Validates a parsed `neurorx.gallery` document; errors name the item and field. */
  static fromJSON(json: unknown, source = 'gallery'): Gallery {
    const parsed = gallerySchema.safeParse(json);
    if (!parsed.success) throw new GalleryError(`${source}: invalid gallery\n${issueLines(parsed.error)}`);
    const g = parsed.data;
    const emb = new Float32Array(g.items.length * g.dim);
    g.items.forEach((item, i) => {
      let ss = 0;
      for (const v of item.embedding) ss += v * v;
      const norm = Math.sqrt(ss);
      if (!(norm > 0 && Number.isFinite(norm))) throw new GalleryError(`${source}: invalid gallery\n  items.${i}.embedding: norm ${norm} cannot be normalised`);
      for (let j = 0; j < g.dim; j++) emb[i * g.dim + j] = item.embedding[j] / norm;
    });
    return new Gallery(
      g.items.map((it) => it.id),
      g.items.map((it) => it.label),
      g.dim,
      g.model,
      emb,
    );
  }

  /** Reads and validates a `neurorx.gallery` JSON file. */
  static load(path: string): Gallery {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new GalleryError(`${path}: cannot read gallery: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new GalleryError(`${path}: not valid JSON: ${(e as Error).message}`);
    }
    return Gallery.fromJSON(json, path);
  }

  /** The `neurorx.gallery` document (normalised embeddings). */
  toJSON(): GalleryJson {
    return {
      format: GALLERY_FORMAT,
      version: GALLERY_VERSION,
      dim: this.dim,
      model: this.model,
      items: this.ids.map((id, i) => ({
        id,
        ...(this.labels[i] !== undefined ? { label: this.labels[i] } : {}),
        embedding: Array.from(this.embedding(i)),
      })),
    };
  }

  /** Index of `id`, or -1. */
  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** The normalised embedding of item `i` (a view, not a copy). */
  embedding(i: number): Float32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`gallery: no item ${i} (size ${this.size})`);
    return this.embeddings.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /** The normalised embedding of image `id`. Throws if absent. */
  embeddingOf(id: string): Float32Array {
    const i = this.index.get(id);
    if (i === undefined) throw new GalleryError(`gallery: no image "${id}"`);
    return this.embedding(i);
  }

  /** A gallery of the given ids, in that order (e.g. the held-out test images). */
  subset(ids: readonly string[]): Gallery {
    const seen = new Set<string>();
    const emb = new Float32Array(ids.length * this.dim);
    const labels: (string | undefined)[] = [];
    ids.forEach((id, k) => {
      const i = this.index.get(id);
      if (i === undefined) throw new GalleryError(`gallery subset: no image "${id}" (ids[${k}])`);
      if (seen.has(id)) throw new GalleryError(`gallery subset: duplicate id "${id}" (ids[${k}])`);
      seen.add(id);
      emb.set(this.embedding(i), k * this.dim);
      labels.push(this.labels[i]);
    });
    return new Gallery([...ids], labels, this.dim, this.model, emb);
  }
}
