import { nanos, nuid, RetentionPolicy, StorageType, type JetStreamClient, type NatsConnection } from 'nats';
import type { Observable, Subscription } from 'rxjs';
import { describeLoss, type LossLog } from '../../src/stream/losses.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { checkStreamName, dataSubject, EEG_JETSTREAM, EEG_STREAMS_BUCKET, EEG_SUBJECT_PREFIX, natsServers, type EegStreamRecord } from './eeg-bus-names.js';
import { encodeFrame, FRAME_VERSION } from './eeg-frame.js';
import { connectNats, watchConnection } from './nats-connection.js';

/** What a publisher needs of a source (devices/open-source.ts's Source fits). */
export interface PublishedSource {
  readonly info: StreamInfo;
  readonly chunks$: Observable<Chunk>;
  readonly losses?: LossLog;
}

export interface PublishOptions {
  /** Server URLs (a comma-separated string or a list); default $NEURORX_NATS, else nats://127.0.0.1:4222. */
  servers?: string | readonly string[];
  /** An open connection to use (then it is not closed at the end). */
  connection?: NatsConnection;
  /** The stream's name on the bus (one subject token). */
  stream: string;
  /** Retain the frames in the JetStream stream NEURORX_EEG, bounded by age and size. */
  jetstream?: boolean | { maxAgeSeconds?: number; maxBytes?: number };
  /**
   * Bytes of frames held while they cannot be sent (JetStream: not yet acknowledged; core NATS:
   * published while the connection is down). Beyond it frames are dropped and counted; the
   * consumer sees the jump of firstSample and reports the gap.
   */
  maxQueueBytes?: number;
  log?: (line: string) => void;
}

export interface PublishStats {
  frames: number;
  samples: number;
  bytes: number;
  droppedFrames: number;
  droppedSamples: number;
}

export interface Publication {
  readonly subject: string;
  /** Resolves when a finite source has ended and every frame is sent (or after stop()). */
  readonly done: Promise<PublishStats>;
  readonly connected: boolean;
  stats(): PublishStats;
  /** Stops taking chunks, sends what is queued (bounded wait) and closes its own connection. */
  stop(): Promise<PublishStats>;
}

export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_AGE_SECONDS = 24 * 3600;
const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
/** How long stop() waits for queued JetStream frames to be acknowledged. */
const STOP_DRAIN_MS = 5000;

interface Pending {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly samples: number;
}

/**
 * Publishes a source's chunks as EEG frames (eeg-frame.ts) on `neurorx.eeg.<stream>.data` and
 * its description in the key-value bucket, so `nats:<stream>` sources elsewhere decode it.
 */
export async function publishSource(source: PublishedSource, options: PublishOptions): Promise<Publication> {
  const stream = checkStreamName(options.stream);
  const subject = dataSubject(stream);
  const log = options.log ?? (() => {});
  const label = `EEG publisher "${stream}"`;
  const servers = typeof options.servers === 'string' || options.servers === undefined ? natsServers(options.servers) : [...options.servers];
  const nc = options.connection ?? (await connectNats(servers, label));
  const maxQueue = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
  try {
    const js = nc.jetstream();
    if (options.jetstream) await ensureStream(nc, options.jetstream === true ? {} : options.jetstream);
    const record: EegStreamRecord = { info: source.info, retained: options.jetstream ? EEG_JETSTREAM : null, frameVersion: FRAME_VERSION };
    const kv = await js.views.kv(EEG_STREAMS_BUCKET, { history: 1 });
    await kv.put(stream, JSON.stringify(record));
    return new Publisher(source, nc, js, subject, !!options.jetstream, maxQueue, log, options.connection === undefined).start();
  } catch (e) {
    if (!options.connection) await nc.close();
    throw e;
  }
}

/** Creates NEURORX_EEG, or updates its bounds when they are given. */
async function ensureStream(nc: NatsConnection, limits: { maxAgeSeconds?: number; maxBytes?: number }): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = {
    name: EEG_JETSTREAM,
    subjects: [`${EEG_SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos((limits.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS) * 1000),
    max_bytes: limits.maxBytes ?? DEFAULT_MAX_BYTES,
  };
  const existing = await jsm.streams.info(EEG_JETSTREAM).catch(() => undefined);
  if (!existing) await jsm.streams.add(config);
  else if (limits.maxAgeSeconds !== undefined || limits.maxBytes !== undefined) await jsm.streams.update(EEG_JETSTREAM, { ...existing.config, max_age: config.max_age, max_bytes: config.max_bytes });
}

class Publisher implements Publication {
  private seq = 0;
  private up = true;
  private readonly counts: PublishStats = { frames: 0, samples: 0, bytes: 0, droppedFrames: 0, droppedSamples: 0 };
  /** JetStream: frames waiting for their acknowledgement, in order. Core: bytes published while down. */
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private sourceDone = false;
  private stopping = false;
  private chunkSub: Subscription | undefined;
  private lossSub: Subscription | undefined;
  private resolveDone: (s: PublishStats) => void = () => {};
  readonly done = new Promise<PublishStats>((resolve) => (this.resolveDone = resolve));
  /** A per-run prefix of JetStream message ids: a retried frame is stored once, a new run is not taken for a retry. */
  private readonly runId = nuid.next();

  constructor(
    private readonly source: PublishedSource,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly subject: string,
    private readonly retained: boolean,
    private readonly maxQueue: number,
    private readonly log: (line: string) => void,
    private readonly ownConnection: boolean,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  stats(): PublishStats {
    return { ...this.counts };
  }

  start(): this {
    watchConnection(this.nc, (up, server) => {
      this.up = up;
      if (up) this.queuedBytes = this.retained ? this.queuedBytes : 0;
      this.log(up ? `NATS: reconnected to ${server}` : `NATS: connection to ${server} lost; reconnecting`);
    });
    this.lossSub = this.source.losses?.losses$.subscribe((loss) => this.log(`source: ${describeLoss(loss)} (consumers see the jump of firstSample)`));
    this.chunkSub = this.source.chunks$.subscribe({
      next: (chunk) => this.push(chunk),
      error: (e: Error) => {
        this.log(`source error: ${e.message}`);
        void this.finish();
      },
      complete: () => {
        this.sourceDone = true;
        void this.finish();
      },
    });
    return this;
  }

  private push(chunk: Chunk): void {
    const seq = this.seq++;
    const bytes = encodeFrame(chunk, seq);
    const held = this.retained || !this.up;
    if (held && this.queuedBytes + bytes.length > this.maxQueue) {
      this.counts.droppedFrames++;
      this.counts.droppedSamples += chunk.samples;
      if (this.counts.droppedFrames === 1 || this.counts.droppedFrames % 100 === 0) {
        this.log(
          `frame ${seq} dropped (${chunk.samples} samples): ${this.retained ? 'JetStream acknowledgements lag' : 'the connection is down'} with ${this.queuedBytes} bytes held (${this.counts.droppedFrames} frames dropped so far)`,
        );
      }
      return;
    }
    if (held) this.queuedBytes += bytes.length;
    if (this.retained) {
      this.queue.push({ seq, bytes, samples: chunk.samples });
      this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
      return;
    }
    this.nc.publish(this.subject, bytes);
    this.sent(bytes.length, chunk.samples);
  }

  private sent(bytes: number, samples: number): void {
    this.counts.frames++;
    this.counts.samples += samples;
    this.counts.bytes += bytes;
  }

  /** Sends queued frames one by one, in order, retrying each until JetStream acknowledges it. */
  private async pump(): Promise<void> {
    let failing = false;
    while (this.queue.length > 0 && !this.nc.isClosed()) {
      const f = this.queue[0];
      try {
        await this.js.publish(this.subject, f.bytes, { msgID: `${this.runId}.${f.seq}`, timeout: 2000 });
        if (failing) this.log(`JetStream: publishing again from frame ${f.seq}`);
        failing = false;
      } catch (e) {
        if (this.stopping) return;
        if (!failing) this.log(`JetStream: frame ${f.seq} not acknowledged (${(e as Error).message}); retrying`);
        failing = true;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      this.queue.shift();
      this.queuedBytes -= f.bytes.length;
      this.sent(f.bytes.length, f.samples);
    }
  }

  private async finish(): Promise<void> {
    if (this.pumping) await this.pumping;
    if (!this.nc.isClosed()) await this.nc.flush().catch(() => {});
    if (this.sourceDone && !this.stopping) await this.close();
  }

  private closing: Promise<void> | undefined;
  private close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.chunkSub?.unsubscribe();
      this.lossSub?.unsubscribe();
      if (this.ownConnection && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
      this.resolveDone(this.stats());
    })());
  }

  async stop(): Promise<PublishStats> {
    this.chunkSub?.unsubscribe();
    if (this.pumping) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.pumping, new Promise((r) => (timer = setTimeout(r, STOP_DRAIN_MS)))]);
      clearTimeout(timer);
    }
    this.stopping = true;
    if (this.queue.length > 0) this.log(`${this.queue.length} frame(s) not acknowledged by JetStream at stop`);
    await this.close();
    return this.stats();
  }
}
