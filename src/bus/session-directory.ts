import type { KV, KvEntry, QueuedIterator } from 'nats';
import { BUCKETS, checkSessionId } from './subjects.js';
import { clusterReplicas, jetStreamOf, whenJetStreamAnswers, type NatsLike } from './jetstream-context.js';

/** The largest config the directory stores (bytes of JSON); a config is a few KiB. */
export const MAX_CONFIG_BYTES = 256 * 1024;

/** How long a put or delete waits for a stream that has no leader (ms). */
const WRITE_PATIENCE_MS = 15_000;

export interface DirectoryOptions {
  /** Replicas of the bucket when this creates it; default min(3, nodes in the cluster). */
  readonly replicas?: number;
}

/** A change of the wanted sessions, as seen by a watcher. */
export type DirectoryChange =
  { readonly kind: 'put'; readonly id: string; readonly config: unknown; readonly revision: number } | { readonly kind: 'delete'; readonly id: string; readonly revision: number };

/** A running watch: `initialized` resolves once the values present when it started were delivered. */
export interface DirectoryWatch {
  readonly initialized: Promise<void>;
  stop(): void;
}

const encoder = new TextEncoder();

/**
 * The sessions a pool of workers should run: the key-value bucket neurorx_sessions, key = session
 * id, value = its config as JSON. The config is stored as given; a worker validates it when it
 * starts the session.
 */
export class SessionDirectory {
  private constructor(readonly kv: KV) {}

  /** Binds to the bucket, creating it when it does not exist yet. */
  static async open(nats: NatsLike, options: DirectoryOptions = {}): Promise<SessionDirectory> {
    const js = jetStreamOf(nats);
    const replicas = options.replicas ?? clusterReplicas(nats);
    const kv = await whenJetStreamAnswers(`bucket ${BUCKETS.sessions}`, () => js.views.kv(BUCKETS.sessions, { replicas, history: 1, maxValueSize: MAX_CONFIG_BYTES }));
    return new SessionDirectory(kv);
  }

  /** Wants the session `id` run with `config` (replacing its config when it is wanted already). */
  async put(id: string, config: unknown): Promise<number> {
    const bytes = encoder.encode(JSON.stringify(config));
    if (bytes.length > MAX_CONFIG_BYTES) throw new Error(`session ${id}: its config is ${bytes.length} bytes, more than the ${MAX_CONFIG_BYTES} the directory stores`);
    checkSessionId(id);
    // Idempotent, so it may wait out a stream electing its leader.
    return whenJetStreamAnswers(`putting session ${id}`, () => this.kv.put(id, bytes), WRITE_PATIENCE_MS);
  }

  /** The config of a wanted session, undefined when it is not wanted. */
  async get(id: string): Promise<unknown> {
    const e = await this.kv.get(checkSessionId(id));
    return e && e.operation === 'PUT' ? e.json<unknown>() : undefined;
  }

  /** No longer wants the session (its worker stops it). */
  async delete(id: string): Promise<void> {
    checkSessionId(id);
    await whenJetStreamAnswers(`deleting session ${id}`, () => this.kv.delete(id), WRITE_PATIENCE_MS);
  }

  /** Every wanted session and its config. */
  async list(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    await this.watch((c) => {
      if (c.kind === 'put') out.set(c.id, c.config);
    }).then(async (w) => {
      await w.initialized;
      w.stop();
    });
    return out;
  }

  /**
   * Calls `onChange` for every wanted session now (kind "put") and then for every change, in the
   * bucket's order. A value that is not JSON is reported as a put with config undefined.
   */
  async watch(onChange: (change: DirectoryChange) => void, log: (line: string) => void = () => {}): Promise<DirectoryWatch> {
    let markInitialized!: () => void;
    const initialized = new Promise<void>((resolve) => (markInitialized = resolve));
    const it: QueuedIterator<KvEntry> = await this.kv.watch({ initializedFn: () => markInitialized() });
    void (async () => {
      for await (const e of it) {
        if (e.operation !== 'PUT') {
          onChange({ kind: 'delete', id: e.key, revision: e.revision });
          continue;
        }
        let config: unknown;
        try {
          config = e.json<unknown>();
        } catch {
          log(`session ${e.key}: its config in ${BUCKETS.sessions} is not JSON`);
        }
        onChange({ kind: 'put', id: e.key, config, revision: e.revision });
      }
    })().catch((e: unknown) => log(`${BUCKETS.sessions} watch ended: ${(e as Error).message}`));
    return { initialized, stop: () => it.stop() };
  }
}
