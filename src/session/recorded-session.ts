import { readXdf, type XdfDocument, type XdfStream } from '../../devices/file/xdf-reader.js';
import { parseConfig, type Config } from '../config/config-schema.js';
import type { ChannelType, Marker, StreamInfo } from '../stream/types.js';
import { CHUNKS_STREAM, DECISIONS_STREAM, SESSION_STREAM, type SessionEntry } from './session-recorder.js';

/** A session recorded by neurorx, read back exactly as it was written (no clock correction, no dejitter). */
export interface RecordedSession {
  readonly path: string;
  readonly signal: XdfStream;
  /** The signal as float32, sample-major. */
  readonly data: Float32Array;
  /** Markers that travelled with the signal (source markers, clients' markers), on the stream clock, in time order. */
  readonly markers: readonly Marker[];
  /**
   * How the signal arrived live, when recorded: per chunk its sample count and how many markers
   * rode on it; `markersAsArrived` are the markers in the order they came (chunk by chunk).
   */
  readonly chunks?: { readonly samples: Int32Array; readonly markers: Int32Array };
  readonly markersAsArrived: readonly Marker[];
  /** The decoder's output, cues and status messages, as sent (JSON objects), with their stream times. */
  readonly messages: readonly { time: number; message: Record<string, unknown> }[];
  readonly entries: readonly { time: number; entry: SessionEntry }[];
  readonly config?: Config;
  /** Every model that decoded live, in order: its JSON, or why it could not be recorded. */
  readonly models: readonly { time: number; model?: unknown; error?: string }[];
  /** Global index of the first recorded sample (0 unless the source had run before the recording). */
  readonly firstSample: number;
  /** Where the pipeline's stages started (global sample indices), as recorded. */
  readonly starts: { readonly input?: number; readonly decode?: number };
  /** Pipeline restarts during the session (a client's calibration), with their stream times. */
  readonly restarts: readonly { time: number; reason: string }[];
  /** The file header's <datetime>, when it has one. */
  readonly datetime?: string;
  readonly warnings: readonly string[];
}

/** An XDF file without neurorx's session stream (another writer's file, or `neurorx record` of an older kind). */
export class NotASessionRecording extends Error {
  override name = 'NotASessionRecording';
}

/** Reads a recording made by neurorx (`record` block or `neurorx record`); names what is missing. */
export async function readRecordedSession(path: string): Promise<RecordedSession> {
  const doc = await readXdf(path, { synchronizeClocks: false, dejitterTimestamps: false });
  return recordedSessionOf(doc, path);
}

export function recordedSessionOf(doc: XdfDocument, path: string): RecordedSession {
  const sessionStream = doc.streams.find((s) => s.name === SESSION_STREAM && s.channelFormat === 'string');
  if (!sessionStream) {
    throw new NotASessionRecording(`${path}: not a neurorx session recording (no "${SESSION_STREAM}" stream; streams: ${doc.streams.map((s) => `"${s.name}"`).join(', ') || 'none'})`);
  }
  const entries = jsonSamples(sessionStream, path).map(({ time, value }) => ({ time, entry: value as unknown as SessionEntry }));
  const head = entries.find((e) => e.entry.kind === 'session')?.entry as Extract<SessionEntry, { kind: 'session' }> | undefined;
  if (!head) throw new Error(`${path}: the "${SESSION_STREAM}" stream has no "session" entry naming the signal stream`);
  const signal = doc.streams.find((s) => s.name === head.signal && s.channelFormat !== 'string');
  if (!signal) throw new Error(`${path}: the signal stream "${head.signal}" is missing`);
  const markerStream = doc.streams.find((s) => s.name === head.markers && s.channelFormat === 'string');
  const markers: Marker[] = [];
  if (markerStream) {
    const values = markerStream.timeSeries as string[];
    for (let i = 0; i < markerStream.sampleCount; i++) markers.push({ time: markerStream.timeStamps[i], value: values[i * markerStream.channelCount], duration: 0 });
  }
  const markersAsArrived = [...markers];
  markers.sort((a, b) => a.time - b.time);
  const chunkStream = doc.streams.find((s) => s.name === CHUNKS_STREAM && s.channelFormat === 'int32' && s.channelCount === 2);
  let chunks: RecordedSession['chunks'];
  if (chunkStream) {
    const rows = chunkStream.timeSeries as Int32Array;
    chunks = { samples: new Int32Array(chunkStream.sampleCount), markers: new Int32Array(chunkStream.sampleCount) };
    for (let k = 0; k < chunkStream.sampleCount; k++) {
      chunks.samples[k] = rows[2 * k];
      chunks.markers[k] = rows[2 * k + 1];
    }
  }
  const decisionStream = doc.streams.find((s) => s.name === DECISIONS_STREAM && s.channelFormat === 'string');
  const messages = decisionStream ? jsonSamples(decisionStream, path).map(({ time, value }) => ({ time, message: value })) : [];
  const configEntry = entries.find((e) => e.entry.kind === 'config')?.entry as Extract<SessionEntry, { kind: 'config' }> | undefined;
  const first = <K extends SessionEntry['kind']>(kind: K) => entries.find((e) => e.entry.kind === kind)?.entry as Extract<SessionEntry, { kind: K }> | undefined;
  const startOf = (stage: 'input' | 'decode') => (entries.find((e) => e.entry.kind === 'start' && e.entry.stage === stage)?.entry as Extract<SessionEntry, { kind: 'start' }> | undefined)?.firstSample;
  const data = signal.timeSeries instanceof Float32Array ? signal.timeSeries : Float32Array.from(signal.timeSeries as ArrayLike<number>, Number);
  return {
    path,
    signal,
    data,
    markers,
    markersAsArrived,
    ...(chunks ? { chunks } : {}),
    messages,
    entries,
    ...(configEntry ? { config: replayableConfig(configEntry.config, path) } : {}),
    models: entries.flatMap((e) => (e.entry.kind === 'model' ? [{ time: e.time, ...e.entry }] : [])).map(({ kind: _kind, ...m }) => m),
    firstSample: first('signal')?.firstSample ?? 0,
    starts: { input: startOf('input'), decode: startOf('decode') },
    restarts: entries.filter((e) => e.entry.kind === 'restart').map((e) => ({ time: e.time, reason: (e.entry as Extract<SessionEntry, { kind: 'restart' }>).reason })),
    ...(doc.datetime ? { datetime: doc.datetime } : {}),
    warnings: doc.warnings,
  };
}

/**
 * The recorded config as a replay uses it: its pipeline and source, with this machine's server
 * defaults (the recording's server, LSL outlets and recording settings belong to the live session,
 * and a server reachable from other machines would need that machine's token).
 */
function replayableConfig(raw: unknown, path: string): Config {
  const { server: _server, record: _record, lsl: _lsl, ...rest } = (raw ?? {}) as Record<string, unknown>;
  return parseConfig(rest, `${path}: recorded config`);
}

/** The recorded signal's stream description (as the live pipeline saw it). */
export function signalInfo(rec: RecordedSession): StreamInfo {
  const s = rec.signal;
  return {
    name: s.name,
    type: s.type,
    sourceId: s.sourceId,
    sampleRate: s.nominalSrate,
    channels: Array.from({ length: s.channelCount }, (_, c) => ({
      label: s.channels[c]?.label || `ch${c + 1}`,
      type: (s.channels[c]?.type || 'misc') as ChannelType,
      unit: s.channels[c]?.unit ?? '',
    })),
  };
}

/** The JSON samples of a one-channel string stream; a sample that is not JSON is named in the error. */
function jsonSamples(stream: XdfStream, path: string): { time: number; value: Record<string, unknown> }[] {
  const values = stream.timeSeries as string[];
  const out: { time: number; value: Record<string, unknown> }[] = [];
  for (let i = 0; i < stream.sampleCount; i++) {
    try {
      out.push({ time: stream.timeStamps[i], value: JSON.parse(values[i * stream.channelCount]) as Record<string, unknown> });
    } catch (e) {
      throw new Error(`${path}: stream "${stream.name}" sample ${i} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}
