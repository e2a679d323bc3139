import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, ChannelType, Marker, StreamInfo } from '../../src/stream/types.js';
import type { NumericArray } from '../lsl/sample-codec.js';
import { NEURORX_DECISIONS_STREAM, NEURORX_SESSION_STREAM } from './xdf-format.js';
import { readXdf, XdfReadError, type XdfDocument, type XdfReadOptions, type XdfStream } from './xdf-reader.js';

/**
 * An XDF file as one neurorx Recording: one numeric, regularly sampled stream is the signal; every
 * string stream (markers, events, JSON messages) becomes markers.
 *
 * - The signal stream is `options.stream` when given: a stream id (a number, or a string of
 *   digits), else a stream whose name is exactly that, else whose type is (exact, then ignoring
 *   case); otherwise the first stream with a nominal rate, a numeric format and at least one sample,
 *   preferring the first of type EEG or MEG.
 * - data: the samples as Float32 (other formats converted); channels from the stream's
 *   `<desc><channels>` (label, else "ch<k>"; type: the channel's `<type>`, else the stream type,
 *   when it names a neurorx channel type, else 'eeg' in an EEG stream and 'misc' otherwise; unit
 *   "microvolts"/"µV"/"uV" as "uV", others as written).
 * - Markers: every sample of every string stream (but a neurorx recording's decisions and session
 *   log, which are JSON records, not events), its non-empty channels joined by ", " (a sample
 *   whose channels are all empty is skipped), at its time minus `timeOrigin` (the signal's first
 *   time stamp), sorted by time (stable).
 *   Markers before the first sample or after the last are kept (negative or late times); markers
 *   whose time stamp is not a finite number (a corrupt file) are dropped, with a warning.
 * - The Recording model knows only the nominal rate: the signal's samples are taken as regular.
 *   `warnings` says so when its effective rate differs from the nominal one by more than 1 %, or
 *   when its time stamps have breaks (several jitter segments); it also carries the reader's warnings.
 * - A file that has no usable signal is an XdfReadError that carries (and lists) the reader's
 *   warnings: what it skipped at which byte is usually why.
 */
export interface XdfRecordingOptions extends XdfReadOptions {
  /** The signal stream: id, name or type. */
  stream?: string | number;
}

export interface XdfRecording extends Recording {
  /** The signal stream's first time stamp (recorder clock, after the read's post-processing). */
  readonly timeOrigin: number;
  /** The StreamId of the signal stream. */
  readonly streamId: number;
  /** The reader's warnings, then the conversion's. */
  readonly warnings: readonly string[];
}

const CHANNEL_TYPES: readonly ChannelType[] = ['eeg', 'meg', 'mag', 'grad', 'eog', 'emg', 'ecg', 'stim', 'resp', 'misc'];
const MICROVOLTS = new Set(['microvolts', 'microvolt', 'µv', 'μv', 'uv']);

export async function readXdfRecording(path: string, options: XdfRecordingOptions = {}): Promise<XdfRecording> {
  const { stream, ...read } = options;
  const doc = await readXdf(path, read);
  // The document is ours alone: a float32 signal becomes the recording's data without a copy.
  return toRecording(doc, path, stream, false);
}

/**
 * The Recording of a read XDF file; `origin` (the file's path) names it in messages and in
 * sourceIds. `data` is a copy: the document's arrays are left alone.
 */
export function xdfToRecording(doc: XdfDocument, origin: string, options: { stream?: string | number } = {}): XdfRecording {
  return toRecording(doc, origin, options.stream, true);
}

function toRecording(doc: XdfDocument, origin: string, wanted: string | number | undefined, copy: boolean): XdfRecording {
  const signal = pickSignal(doc, origin, wanted);
  const warnings = [...doc.warnings];
  const nch = signal.channelCount;
  const n = signal.sampleCount;
  const data = toFloat32(signal.timeSeries as NumericArray, n * nch, copy);
  const streamType = signal.type.toLowerCase();
  const channels: ChannelInfo[] = Array.from({ length: nch }, (_, k) => {
    const desc = signal.channels[k];
    return {
      label: desc?.label ? desc.label : `ch${k}`,
      type: channelType(desc?.type ?? '', streamType),
      unit: unitOf(desc?.unit ?? ''),
    };
  });
  if (signal.channels.length > 0 && signal.channels.length !== nch) {
    warnings.push(`stream id ${signal.id} (${signal.name}): its header describes ${signal.channels.length} channels but has ${nch}`);
  }
  const timeOrigin = signal.timeStamps[0];
  const rate = signal.nominalSrate;
  if (n > 1 && Math.abs(signal.effectiveSrate - rate) > 0.01 * rate) {
    warnings.push(
      `stream id ${signal.id} (${signal.name}): effective rate ${signal.effectiveSrate.toFixed(4)} Hz differs from the nominal ${rate} Hz by more than 1 %; ` +
        'the recording assumes the nominal rate',
    );
  }
  if (signal.segments.length > 1) {
    warnings.push(
      `stream id ${signal.id} (${signal.name}): its time stamps have ${signal.segments.length - 1} break(s) (segments ${signal.segments.map(([a, b]) => `${a}-${b}`).join(', ')}); ` +
        'the recording joins them as if the samples were regular',
    );
  }

  const markers: Marker[] = [];
  for (const s of doc.streams) {
    if (s.channelFormat !== 'string' || s.channelCount === 0) continue;
    if (s.type === NEURORX_DECISIONS_STREAM || s.type === NEURORX_SESSION_STREAM) continue;
    const values = s.timeSeries as string[];
    let unplaced = 0;
    for (let i = 0; i < s.sampleCount; i++) {
      const row = values.slice(i * s.channelCount, (i + 1) * s.channelCount).filter((v) => v !== '');
      if (row.length === 0) continue;
      const time = s.timeStamps[i] - timeOrigin;
      if (Number.isFinite(time)) markers.push({ time, value: row.join(', '), duration: 0 });
      else unplaced++;
    }
    if (unplaced > 0) {
      const why = Number.isFinite(timeOrigin) ? 'their time stamps are not finite numbers' : `the signal's first time stamp is ${timeOrigin}`;
      warnings.push(`stream id ${s.id} (${s.name}): ${unplaced} marker(s) dropped: ${why} (a corrupt file?)`);
    }
  }
  markers.sort((a, b) => a.time - b.time);

  const info: StreamInfo = {
    name: signal.name,
    type: signal.type,
    sourceId: signal.sourceId !== '' ? signal.sourceId : `${origin}#${signal.id}`,
    channels,
    sampleRate: rate,
  };
  const startDate = parseDate(doc.datetime);
  return { info, data, samples: n, markers, ...(startDate ? { startDate } : {}), timeOrigin, streamId: signal.id, warnings };
}

function describe(s: XdfStream): string {
  return `${s.id} "${s.name}" (type ${s.type || '""'}, ${s.channelCount} ${s.channelFormat} channel(s), ${s.nominalSrate} Hz, ${s.sampleCount} samples)`;
}

function pickSignal(doc: XdfDocument, origin: string, wanted: string | number | undefined): XdfStream {
  const list = (): string => (doc.streams.length === 0 ? 'the file has no streams' : `streams: ${doc.streams.map(describe).join('; ')}`);
  const fail = (message: string): never => {
    throw new XdfReadError(`${origin}: ${message}`, doc.warnings);
  };
  if (wanted !== undefined && String(wanted).trim() !== '') {
    const key = String(wanted).trim();
    const asId = /^\d+$/.test(key) ? Number(key) : undefined;
    const found =
      (asId !== undefined ? doc.streams.find((s) => s.id === asId) : undefined) ??
      doc.streams.find((s) => s.name === key) ??
      doc.streams.find((s) => s.type === key) ??
      doc.streams.find((s) => s.type.toLowerCase() === key.toLowerCase());
    if (!found) return fail(`no stream with id, name or type "${key}"; ${list()}`);
    if (found.channelFormat === 'string') fail(`stream ${describe(found)} holds strings, not a signal; ${list()}`);
    if (found.sampleCount === 0) fail(`stream ${describe(found)} has no samples`);
    if (found.nominalSrate <= 0) fail(`stream ${describe(found)} is irregular (nominal rate 0); a recording needs a sampling rate`);
    return found;
  }
  const candidates = doc.streams.filter((s) => s.nominalSrate > 0 && s.channelFormat !== 'string' && s.sampleCount > 0);
  const pick = candidates.find((s) => ['EEG', 'MEG'].includes(s.type.toUpperCase())) ?? candidates[0];
  return pick ?? fail(`no regularly sampled numeric stream with samples to use as the signal; ${list()}`);
}

function toFloat32(values: NumericArray, length: number, copy: boolean): Float32Array {
  if (values instanceof Float32Array) return copy ? values.slice(0, length) : values.subarray(0, length);
  const out = new Float32Array(length);
  if (values instanceof BigInt64Array) {
    for (let i = 0; i < length; i++) out[i] = Number(values[i]);
  } else {
    out.set(values.subarray(0, length));
  }
  return out;
}

function channelType(raw: string, streamType: string): ChannelType {
  const t = (raw.trim() || streamType).toLowerCase();
  if ((CHANNEL_TYPES as readonly string[]).includes(t)) return t as ChannelType;
  return streamType === 'eeg' ? 'eeg' : 'misc';
}

function unitOf(raw: string): string {
  const u = raw.trim();
  return MICROVOLTS.has(u.toLowerCase()) ? 'uV' : u;
}

/** The file header's datetime (ISO 8601, with "+0000"-style zones too), when it parses. */
function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const iso = text.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
