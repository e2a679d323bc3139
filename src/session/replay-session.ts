import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom, map, toArray } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Source } from '../../devices/open-source.js';
import { pacedChunks, type Produced } from '../../devices/paced-source.js';
import { firstMarkerFrom } from '../../devices/file/replay.js';
import type { PipelineSettings } from '../../pipelines/pipeline-plugin.js';
import { pipelineRegistry } from '../../pipelines/registry.js';
import type { Config } from '../config/config-schema.js';
import type { OutboundMessage } from '../server/messages.js';
import { LossLog } from '../stream/losses.js';
import type { Marker } from '../stream/types.js';
import { canonicalDecisionLine, messageOf } from './event-messages.js';
import { signalInfo, type RecordedSession } from './recorded-session.js';

export interface ReplayDecisionsOptions {
  /** Replace the recorded config (its pipeline settings; the source is always the recording). */
  config?: Config;
  /** Decode with this saved model instead of the one recorded. */
  modelPath?: string;
  /**
   * Cut the signal into chunks of this many samples; by default the replay hands over the very
   * chunks that arrived live (when the recording kept them; else 32).
   */
  chunkSize?: number;
  log?: (line: string) => void;
}

export interface ReplayResult {
  /** The decoder's output messages (decision, emotion, retrieval, a plug-in's outputs), in order. */
  readonly messages: readonly OutboundMessage[];
  /** The same as canonical lines (JSON without latencyMs): identical runs give identical lines. */
  readonly lines: readonly string[];
  /** What the replay could not reproduce of the live run (a restart, a second model). */
  readonly notes: readonly string[];
}

/**
 * Replays a recorded session through its pipeline as fast as possible, headless: the recorded
 * samples with their exact timestamps and markers, from the sample the live pipeline started at,
 * decoded by the model the live session used (written to a temporary file and loaded as a saved
 * model), with the decoder starting where it started live. Deterministic: the same recording and
 * model give the same decisions, byte for byte, whatever the chunk size or machine load.
 */
export async function replayDecisions(rec: RecordedSession, options: ReplayDecisionsOptions = {}): Promise<ReplayResult> {
  const config = options.config ?? rec.config;
  if (!config) throw new Error(`${rec.path}: no config recorded; give one (--config)`);
  const notes: string[] = [];
  if (rec.restarts.length > 0)
    notes.push(`the live pipeline restarted ${rec.restarts.length} time(s) (${rec.restarts.map((r) => `${r.reason} at ${r.time.toFixed(3)} s`).join('; ')}); the replay runs it once`);
  if (rec.models.length > 1 && !options.modelPath) notes.push(`${rec.models.length} models decoded live (retraining or restarts); the replay uses the first`);
  const tmp = await mkdtemp(path.join(tmpdir(), 'neurorx-replay-'));
  try {
    const modelPath = options.modelPath ?? (await writeRecordedModel(rec, tmp));
    const plugin = pipelineRegistry.get(config.pipeline.kind);
    const settings = withSavedModel(config.pipeline, modelPath, rec.path);
    const source = recordedSource(rec, options.chunkSize);
    const log = options.log ?? (() => {});
    const decodeFrom = rec.starts.decode !== undefined && rec.starts.decode !== rec.starts.input ? rec.starts.decode : undefined;
    const pipeline = plugin.open(settings, { log, stream: { channels: source.info.channels.length, sampleRate: source.info.sampleRate } });
    try {
      const events = await lastValueFrom(pipeline.run(source, settings, { decodeFrom }).pipe(toArray()));
      const messages = events
        .map((e) => plugin.describe(e))
        .filter((o): o is Exclude<typeof o, undefined | { kind: 'status' }> => o !== undefined && o.kind !== 'status')
        .map(messageOf)
        .filter((m) => plugin.outputs.includes(m.type));
      return { messages, lines: messages.map(canonicalDecisionLine), notes };
    } finally {
      pipeline.dispose?.();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Writes the first model the live session decoded with into `dir`; its path (undefined when none was recorded). */
export async function writeRecordedModel(rec: RecordedSession, dir: string): Promise<string | undefined> {
  if (rec.models.length === 0) return undefined;
  const first = rec.models[0];
  if (first.error !== undefined) throw new Error(`${rec.path}: the live model could not be recorded (${first.error}); replay with the saved model (--model)`);
  const file = path.join(dir, 'model.json');
  await writeFile(file, JSON.stringify(first.model));
  return file;
}

/** The pipeline settings a replay runs with: decoding with the saved model (when there is one). */
export function withSavedModel<S extends PipelineSettings>(settings: S, modelPath: string | undefined, origin: string): S {
  const plugin = pipelineRegistry.get(settings.kind);
  return plugin.forReplay ? (plugin.forReplay(settings, modelPath, origin) as S) : settings;
}

/** The recorded decision messages (decision, emotion, retrieval) as canonical lines. */
export function recordedDecisionLines(rec: RecordedSession): string[] {
  const kind = rec.config?.pipeline.kind;
  const outputs = kind !== undefined && pipelineRegistry.kinds.includes(kind) ? pipelineRegistry.get(kind).outputs : pipelineRegistry.outputTypes();
  return rec.messages.filter((m) => outputs.includes(m.message.type as string)).map((m) => canonicalDecisionLine(m.message));
}

/**
 * The recording as a source: its samples with their recorded timestamps, from the sample the live
 * pipeline started at. Without `chunkSize` (and when the recording kept it) the chunks are the live
 * ones, each with the markers that rode on it; with `chunkSize` the signal is cut anew and each
 * marker goes into the chunk whose span holds its time.
 */
export function recordedSource(rec: RecordedSession, chunkSize?: number): Source {
  const s = rec.signal;
  const nCh = s.channelCount;
  const info = signalInfo(rec);
  const start = Math.max(0, (rec.starts.input ?? rec.firstSample) - rec.firstSample);
  const stamps = s.timeStamps;
  const total = s.sampleCount;
  const produce = chunkSize === undefined && rec.chunks ? liveChunks(rec, start) : rechunked(rec, start);
  const chunks$ = pacedChunks(
    info,
    (first, max): Produced | undefined => {
      const from = start + first;
      if (from >= total) return undefined;
      const { samples: n, markers } = produce(from, Math.min(max, total - from));
      return { data: rec.data.subarray(from * nCh, (from + n) * nCh), samples: n, time: stamps[from], markers };
    },
    { speed: 'max', chunkSize: chunkSize ?? 32 },
  );
  // pacedChunks numbers samples from 0; the live run numbered them from the recording's first.
  const offset = rec.firstSample + start;
  return {
    uri: `file:${rec.path}`,
    info,
    finite: true,
    chunks$: chunks$.pipe(
      map((c) => ({ ...c, firstSample: c.firstSample + offset, timestamps: stamps.subarray(start + c.firstSample, start + c.firstSample + c.samples), receivedAt: performance.now() })),
    ),
    losses: new LossLog(),
  };
}

/** Which samples and markers make the chunk starting at recorded sample `from` (at most `max` samples). */
type ChunkCutter = (from: number, max: number) => { samples: number; markers: Marker[] };

/** The live chunks, in order, skipping those before `start`. */
function liveChunks(rec: RecordedSession, start: number): ChunkCutter {
  const { samples, markers: counts } = rec.chunks!;
  let k = 0;
  let at = 0; // first recorded sample of chunk k
  let m = 0; // first marker of chunk k
  return (from) => {
    if (from < at) k = at = m = 0; // a new subscription starts over
    while (k < samples.length && at + samples[k] <= from) {
      at += samples[k];
      m += counts[k];
      k++;
    }
    if (k >= samples.length) return { samples: rec.signal.sampleCount - from, markers: [] };
    if (at !== from) throw new Error(`${rec.path}: the replay starts at sample ${start}, inside a live chunk (samples ${at}..${at + samples[k] - 1})`);
    return { samples: samples[k], markers: rec.markersAsArrived.slice(m, m + counts[k]) };
  };
}

/** Chunks of the requested size; each marker in the chunk whose span holds its time. */
function rechunked(rec: RecordedSession, start: number): ChunkCutter {
  const markers = rec.markers;
  const stamps = rec.signal.timeStamps;
  const total = rec.signal.sampleCount;
  return (from, n) => {
    // Markers before the first replayed sample ride on the first chunk, as they would have live.
    const lo = from === start && start === 0 ? 0 : firstMarkerFrom(markers, stamps[from]);
    const hi = from + n < total ? firstMarkerFrom(markers, stamps[from + n]) : markers.length;
    return { samples: n, markers: markers.slice(lo, hi) };
  };
}

export interface DecisionDifference {
  readonly index: number;
  readonly live?: string;
  readonly replay?: string;
  /** Top-level fields whose values differ. */
  readonly fields: readonly string[];
}

export interface CheckReport {
  readonly live: number;
  readonly replay: number;
  readonly identical: number;
  readonly differences: number;
  /** The first differences (at most `limit`). */
  readonly first: readonly DecisionDifference[];
}

/** Compares the live decision lines with a replay's, in order. */
export function compareDecisionLines(live: readonly string[], replay: readonly string[], limit = 10): CheckReport {
  const n = Math.max(live.length, replay.length);
  let identical = 0;
  const first: DecisionDifference[] = [];
  let differences = 0;
  for (let i = 0; i < n; i++) {
    if (live[i] === replay[i]) {
      identical++;
      continue;
    }
    differences++;
    if (first.length < limit) first.push({ index: i, live: live[i], replay: replay[i], fields: differingFields(live[i], replay[i]) });
  }
  return { live: live.length, replay: replay.length, identical, differences, first };
}

function differingFields(a: string | undefined, b: string | undefined): string[] {
  if (a === undefined || b === undefined) return ['(missing)'];
  const x = JSON.parse(a) as Record<string, unknown>;
  const y = JSON.parse(b) as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
}
