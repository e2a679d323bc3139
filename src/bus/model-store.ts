import type { ObjectStore } from 'nats';
import { clusterReplicas, jetStreamOf, whenJetStreamAnswers, type NatsLike } from './jetstream-context.js';
import { BUCKETS, checkSessionId } from './subjects.js';

/** The largest model the store takes (bytes of JSON); a decoder's model is KiB to a few MiB. */
export const MAX_MODEL_BYTES = 16 * 1024 * 1024;

export interface ModelStoreOptions {
  /** Replicas of the store when this creates it; default min(3, nodes in the cluster). */
  readonly replicas?: number;
  /** Refuse models larger than this (bytes of JSON); default MAX_MODEL_BYTES. */
  readonly maxBytes?: number;
}

/**
 * Saved models, so a worker that takes a session over decodes with the model it was calibrated
 * with: the JetStream object store neurorx_models, one object per session (name = session id),
 * the model's JSON.
 */
export class ModelStore {
  private constructor(
    private readonly os: ObjectStore,
    readonly maxBytes: number,
  ) {}

  /** Binds to the store, creating it when it does not exist yet. */
  static async open(nats: NatsLike, options: ModelStoreOptions = {}): Promise<ModelStore> {
    const js = jetStreamOf(nats);
    const replicas = options.replicas ?? clusterReplicas(nats);
    const os = await whenJetStreamAnswers(`object store ${BUCKETS.models}`, () => js.views.os(BUCKETS.models, { replicas }));
    return new ModelStore(os, options.maxBytes ?? MAX_MODEL_BYTES);
  }

  /** Saves (replaces) the model of session `id`; rejects a model larger than `maxBytes`. */
  async save(id: string, model: unknown): Promise<void> {
    const text = JSON.stringify(model);
    if (text === undefined) throw new Error(`the model of session ${id} is not JSON`);
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > this.maxBytes) throw new Error(`the model of session ${id} is ${mib(bytes.length)}, more than the ${mib(this.maxBytes)} the model store takes`);
    await this.os.putBlob({ name: checkSessionId(id) }, bytes);
  }

  /** The saved model of session `id`, undefined when there is none. */
  async load(id: string): Promise<unknown> {
    const info = await this.os.info(checkSessionId(id));
    if (!info || info.deleted) return undefined;
    // Checked before reading: a model put there by something else must not fill this process.
    if (info.size > this.maxBytes) throw new Error(`the saved model of session ${id} is ${mib(info.size)}, more than the ${mib(this.maxBytes)} the model store takes`);
    const bytes = await this.os.getBlob(id);
    if (!bytes) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch (e) {
      throw new Error(`the saved model of session ${id} is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Deletes the saved model of session `id` (nothing when there is none). */
  async delete(id: string): Promise<void> {
    await this.os.delete(checkSessionId(id));
  }
}

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
