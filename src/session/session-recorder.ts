import type { Loss } from '../stream/losses.js';
import { NEURORX_CHUNKS_STREAM, NEURORX_DECISIONS_STREAM, NEURORX_SESSION_STREAM } from '../../devices/file/xdf-format.js';
import { XdfWriter } from '../../devices/file/xdf-writer.js';
import type { OutboundMessage } from '../server/messages.js';
import type { Chunk, StreamInfo } from '../stream/types.js';
import type { PipelineStage } from '../stream/pipeline-hooks.js';
import { VERSION } from '../version.js';

/** Name and type of the stream that holds the session's own record (config, models, controls). */
export const SESSION_STREAM = NEURORX_SESSION_STREAM;
/** Name and type of the stream of decisions (the WebSocket messages of the decoder's output). */
export const DECISIONS_STREAM = NEURORX_DECISIONS_STREAM;
/**
 * Name and type of the stream that keeps how the signal arrived: per chunk, its sample count and
 * how many markers rode on it (int32 x 2, at the chunk's first sample time), so that a replay can
 * hand the pipeline the very same chunks.
 */
export const CHUNKS_STREAM = NEURORX_CHUNKS_STREAM;

/** One sample of the session stream (JSON). */
export type SessionEntry =
  | { kind: 'session'; neurorx: string; source: string; signal: string; markers: string }
  | { kind: 'signal'; firstSample: number }
  | { kind: 'config'; config: unknown }
  | { kind: 'model'; model: unknown }
  /** A model decoded but could not be recorded (its weights live in files it had not written). */
  | { kind: 'model'; error: string }
  | { kind: 'start'; stage: PipelineStage; firstSample: number }
  | { kind: 'control'; message: unknown }
  | { kind: 'restart'; reason: string }
  /** Something the source lost or could not read (see src/stream/losses.ts). */
  | { kind: 'loss'; loss: Loss };

export interface RecorderOptions {
  /** The source URI, kept in the file. */
  source: string;
  flushIntervalMs?: number;
  overwrite?: boolean;
  /**
   * Called once if writing fails mid-session (disk full...): recording stops, the session goes on,
   * and the file keeps everything up to the failure; also for the first few inputs that could not
   * be recorded (skipped). Default: a line on stderr.
   */
  onError?: (error: Error) => void;
}

/**
 * Writes a session to XDF as it happens: the signal (float32, with the exact timestamps the
 * pipeline saw), its markers, the decisions, and a session stream with the config, every model
 * that decoded and the clients' controls. Crash-safe through XdfWriter's periodic flushes.
 */
export class SessionRecorder {
  private readonly writer: XdfWriter;
  private readonly signalId: number;
  private readonly markerId: number;
  private readonly decisionId: number;
  private readonly sessionId: number;
  private readonly chunkId: number;
  private readonly chunkRow = new Int32Array(2);
  private readonly nCh: number;
  private readonly rate: number;
  private stamps = new Float64Array(1024);
  private lastTime = 0;
  private samples = 0;
  private closed = false;
  private readonly onError: (error: Error) => void;
  /** Why recording stopped early, if it did. */
  failure: Error | undefined;
  private skipped = 0;

  constructor(
    readonly path: string,
    readonly info: StreamInfo,
    options: RecorderOptions,
  ) {
    this.onError = options.onError ?? ((e) => console.error(`neurorx: recording to ${path} stopped: ${e.message}`));
    this.writer = new XdfWriter(path, { flushIntervalMs: options.flushIntervalMs, overwrite: options.overwrite, onError: (e) => this.fail(e) });
    this.nCh = info.channels.length;
    this.rate = info.sampleRate;
    this.signalId = this.writer.addStream({
      name: info.name,
      type: info.type,
      channelFormat: 'float32',
      channels: info.channels.map((c) => ({ label: c.label, unit: c.unit, type: c.type })),
      nominalSrate: info.sampleRate,
      sourceId: info.sourceId,
    });
    const markers = `${info.name}-markers`;
    this.markerId = this.writer.addStream({
      name: markers,
      type: 'Markers',
      channelFormat: 'string',
      channels: [{ label: 'marker', unit: '', type: 'marker' }],
      nominalSrate: 0,
      sourceId: `${info.sourceId}#markers`,
    });
    this.decisionId = this.writer.addStream({
      name: DECISIONS_STREAM,
      type: DECISIONS_STREAM,
      channelFormat: 'string',
      channels: [{ label: 'message', unit: '', type: 'json' }],
      nominalSrate: 0,
      sourceId: `${info.sourceId}#decisions`,
    });
    this.sessionId = this.writer.addStream({
      name: SESSION_STREAM,
      type: SESSION_STREAM,
      channelFormat: 'string',
      channels: [{ label: 'entry', unit: '', type: 'json' }],
      nominalSrate: 0,
      sourceId: `${info.sourceId}#session`,
    });
    this.chunkId = this.writer.addStream({
      name: CHUNKS_STREAM,
      type: CHUNKS_STREAM,
      channelFormat: 'int32',
      channels: [
        { label: 'samples', unit: '', type: 'count' },
        { label: 'markers', unit: '', type: 'count' },
      ],
      nominalSrate: 0,
      sourceId: `${info.sourceId}#chunks`,
    });
    this.entry({ kind: 'session', neurorx: VERSION, source: options.source, signal: info.name, markers });
  }

  /** Samples recorded so far. */
  get sampleCount(): number {
    return this.samples;
  }

  /** Stream time of the last sample recorded. */
  get time(): number {
    return this.lastTime;
  }

  /** Records a chunk of the signal and its markers. */
  signal(chunk: Chunk): void {
    if (this.closed || chunk.samples === 0) return;
    this.guard(() => this.writeSignal(chunk));
  }

  private writeSignal(chunk: Chunk): void {
    const n = chunk.samples;
    if (this.samples === 0) this.entry({ kind: 'signal', firstSample: chunk.firstSample });
    let stamps: ArrayLike<number>;
    if (chunk.timestamps) stamps = chunk.timestamps;
    else {
      if (this.stamps.length < n) this.stamps = new Float64Array(n);
      for (let s = 0; s < n; s++) this.stamps[s] = chunk.time + s / this.rate;
      stamps = this.stamps;
    }
    this.writer.push(this.signalId, chunk.data.subarray(0, n * this.nCh), stamps, 0, n);
    for (const m of chunk.markers) this.writer.push(this.markerId, [m.value], [m.time]);
    this.chunkRow[0] = n;
    this.chunkRow[1] = chunk.markers.length;
    this.writer.push(this.chunkId, this.chunkRow, [stamps[0]]);
    this.lastTime = stamps[n - 1];
    this.samples += n;
  }

  /** Records a message of the decoder's output (or a cue, a status) at stream time `time`. */
  message(message: OutboundMessage, time = this.lastTime): void {
    if (this.closed) return;
    this.guard(() => this.writer.push(this.decisionId, [JSON.stringify(message)], [time]));
  }

  /** Records an entry of the session stream at the current stream time. */
  entry(entry: SessionEntry): void {
    if (this.closed) return;
    this.guard(() => this.writer.push(this.sessionId, [JSON.stringify(entry)], [this.lastTime]));
  }

  close(): void {
    if (this.closed) return;
    this.guard(() => this.writer.close());
    this.closed = true;
  }

  /** Records the model now decoding (its JSON), or why it could not be recorded. */
  model(json: () => unknown): void {
    let entry: SessionEntry;
    try {
      entry = { kind: 'model', model: json() };
    } catch (e) {
      entry = { kind: 'model', error: (e as Error).message };
    }
    this.entry(entry);
  }

  /**
   * Runs a write. A failure of the file (disk full...) stops the recording, never the session; a
   * bad input (a malformed chunk) is skipped with a warning, and recording goes on.
   */
  private guard(write: () => void): void {
    try {
      write();
    } catch (e) {
      if (this.writer.error) this.fail(this.writer.error);
      else if (this.skipped++ < 3) this.onError(new Error(`skipped what could not be recorded: ${(e as Error).message}`));
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.closed = true;
    this.onError(e);
  }
}
