import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Gap } from '../../src/stream/losses.js';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, ChannelType, Marker, StreamInfo } from '../../src/stream/types.js';
import { parseTals } from './edf-annotations.js';
import { EdfFormatError, parseEdfHeader, SAMPLES_PER_RECORD_FIELD, signalFieldOffset, type EdfHeader, type EdfSignalHeader } from './edf-header.js';
import { refuseAllocation } from './read-limits.js';

/**
 * EDF, EDF+ (continuous and discontinuous) and BDF/BDF+ reader.
 *
 * Values match MNE-Python's `read_raw_edf`/`read_raw_bdf`:
 * - physical = digital * cal + offset with cal = (physMax - physMin) / (digMax - digMin) and
 *   offset = physMin - digMin * cal (a zero range is taken as 1, as MNE does);
 * - voltages are converted to microvolts (MNE gives volts: ours = MNE's * 1e6); a signal whose
 *   dimension is not a voltage keeps its physical value and unit;
 * - a channel named "Status" or "Trigger" (any case) is a stim channel holding the raw digital
 *   value masked to its low 17 bits (BDF status words carry system bits above them);
 * - annotation signals ("EDF Annotations"/"BDF Annotations") are not channels: their TALs become
 *   markers, in seconds since the first sample.
 *
 * Differences from MNE, on purpose: channel types are inferred from label prefixes ("EOG ...",
 * "ECG ...", ...) instead of calling everything EEG; a signal sampled slower than the fastest one is
 * held sample-and-hold up to the stream rate (MNE resamples it by FFT, which is not causal).
 */
export interface EdfReadOptions {
  /** Name used in error messages and as the stream's sourceId; defaults to the file name. */
  readonly source?: string;
}

export interface EdfRecording extends Recording {
  readonly header: EdfHeader;
  /** Things that were wrong but readable: a truncated last record, a missing scale, ... */
  readonly warnings: readonly string[];
  /** The records a truncated file lacks (the header declares them). */
  readonly gaps: readonly Gap[];
}

export async function readEdf(file: string, opts: EdfReadOptions = {}): Promise<EdfRecording> {
  const buf = await readFile(file);
  return parseEdf(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts.source ?? file);
}

const STIM_NAMES = new Set(['status', 'trigger']);
const STIM_MASK = 2 ** 17 - 1;

export function parseEdf(buf: Uint8Array, source: string): EdfRecording {
  const warnings: string[] = [];
  const header = parseEdfHeader(buf, source, warnings);

  const dataSignals = header.signals.filter((s) => !s.isAnnotation);
  const annotationSignals = header.signals.filter((s) => s.isAnnotation);
  if (dataSignals.length === 0) {
    throw new EdfFormatError(source, 'signal headers', 256, 'the file has no data signals, only annotations');
  }
  // The stream rate is the fastest signal's (stim channels count only when there is nothing else).
  const rated = dataSignals.filter((s) => !isStim(s));
  const fastest = (rated.length > 0 ? rated : dataSignals).reduce((a, s) => (s.samplesPerRecord > a.samplesPerRecord ? s : a));
  const perRecord = fastest.samplesPerRecord;
  const sampleRate = header.recordDuration > 0 ? perRecord / header.recordDuration : 1;
  if (header.recordDuration === 0) warnings.push('data record duration is 0 (no signal data per record); sample rate set to 1 Hz');
  const { records, gaps } = countRecords(buf, header, source, perRecord, warnings);

  const scales = dataSignals.map((s) => scaleOf(s, warnings));
  const channels: ChannelInfo[] = dataSignals.map((s, i) => ({ label: s.label, type: typeOf(s), unit: scales[i].unit }));
  for (const s of dataSignals) {
    if (s.samplesPerRecord !== perRecord) {
      warnings.push(`signal ${s.index + 1} (${s.label}) has ${s.samplesPerRecord} samples per record, not ${perRecord}: held sample-and-hold up to the stream rate`);
    }
  }

  const nch = dataSignals.length;
  const samples = records * perRecord;
  const refused = refuseAllocation({
    values: samples * nch,
    stored: records * dataSignals.reduce((n, s) => n + s.samplesPerRecord, 0),
    because: `${nch} data signals held up to the ${perRecord} samples per record of signal ${fastest.index + 1} (${fastest.label}) over ${records} records`,
  });
  if (refused) {
    throw new EdfFormatError(source, `signal ${fastest.index + 1} samples per record`, signalFieldOffset(header.signals.length, SAMPLES_PER_RECORD_FIELD, fastest.index), refused);
  }
  const data = new Float32Array(samples * nch);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bps = header.bytesPerSample;
  for (let c = 0; c < nch; c++) {
    const sig = dataSignals[c];
    const { cal, offset, gain, stim } = scales[c];
    const n = sig.samplesPerRecord;
    for (let r = 0; r < records; r++) {
      const base = header.headerBytes + r * header.recordBytes + header.signalOffsets[sig.index];
      let out = r * perRecord * nch + c;
      if (n === perRecord) {
        for (let k = 0; k < n; k++, out += nch) {
          const digital = bps === 2 ? view.getInt16(base + 2 * k, true) : readInt24(buf, base + 3 * k);
          data[out] = stim ? digital & STIM_MASK : (digital * cal + offset) * gain;
        }
      } else {
        for (let k = 0; k < perRecord; k++, out += nch) {
          const src = Math.floor((k * n) / perRecord);
          const digital = bps === 2 ? view.getInt16(base + 2 * src, true) : readInt24(buf, base + 3 * src);
          data[out] = stim ? digital & STIM_MASK : (digital * cal + offset) * gain;
        }
      }
    }
  }

  const { markers, recordStarts } = readMarkers(buf, header, annotationSignals, records, source, warnings);
  if (header.flavour === 'edf+d' || header.flavour === 'bdf+d') gaps.push(...pauses(recordStarts, header.recordDuration, sampleRate));
  const info: StreamInfo = {
    name: path.basename(source),
    type: channels.some((c) => c.type === 'eeg') ? 'EEG' : 'misc',
    sourceId: source,
    channels,
    sampleRate,
  };
  return { info, data, samples, markers, startDate: startDateOf(header, buf, annotationSignals), header, warnings, gaps };
}

/** Records to read; a file shorter than its header says loses the missing records as a gap. */
function countRecords(buf: Uint8Array, header: EdfHeader, source: string, perRecord: number, warnings: string[]): { records: number; gaps: Gap[] } {
  const available = buf.length - header.headerBytes;
  const complete = header.recordBytes > 0 ? Math.floor(available / header.recordBytes) : 0;
  const partial = available - complete * header.recordBytes;
  if (header.recordsDeclared === -1) {
    if (partial > 0) warnings.push(`the last ${partial} bytes are an incomplete data record and were ignored`);
    return { records: complete, gaps: [] };
  }
  if (complete < header.recordsDeclared) {
    const at = header.headerBytes + complete * header.recordBytes;
    const missing = header.recordsDeclared - complete;
    const seconds = missing * header.recordDuration;
    warnings.push(
      `${source}: the header declares ${header.recordsDeclared} data records but the file holds ${complete} complete ones ` +
        `(truncated at byte ${buf.length}, record ${complete + 1} starts at byte ${at}); kept the ${complete} complete records, ` +
        `${missing} records (${seconds} s) are missing`,
    );
    return { records: complete, gaps: [{ time: complete * header.recordDuration, samples: missing * perRecord, seconds, cause: 'file truncated' }] };
  }
  if (complete > header.recordsDeclared || partial > 0) {
    warnings.push(`the file has ${available - header.recordsDeclared * header.recordBytes} bytes after the declared ${header.recordsDeclared} records; ignored`);
  }
  return { records: header.recordsDeclared, gaps: [] };
}

interface Scale {
  readonly cal: number;
  readonly offset: number;
  /** Multiplier from the physical unit to the unit we report (e.g. mV -> uV = 1000). */
  readonly gain: number;
  readonly unit: string;
  readonly stim: boolean;
}

/** Physical dimensions we recognise as voltages, with their size in microvolts. */
const VOLTS_IN_UV: Record<string, number> = { uV: 1, µV: 1, μV: 1, mV: 1e3, V: 1e6, nV: 1e-3 };

function scaleOf(sig: EdfSignalHeader, warnings: string[]): Scale {
  if (isStim(sig)) return { cal: 1, offset: 0, gain: 1, unit: '', stim: true };
  let digitalRange = sig.digitalMax - sig.digitalMin;
  let physicalRange = sig.physicalMax - sig.physicalMin;
  if (digitalRange === 0) {
    warnings.push(`signal ${sig.index + 1} (${sig.label}): digital range is 0, scale taken as 1`);
    digitalRange = 1;
  }
  if (physicalRange === 0) {
    warnings.push(`signal ${sig.index + 1} (${sig.label}): physical range is 0, scale taken as 1`);
    physicalRange = 1;
  }
  const cal = physicalRange / digitalRange;
  const offset = sig.physicalMin - sig.digitalMin * cal;
  const uv = VOLTS_IN_UV[sig.physicalDimension];
  if (uv !== undefined) return { cal, offset, gain: uv, unit: 'uV', stim: false };
  return { cal, offset, gain: 1, unit: sig.physicalDimension, stim: false };
}

function isStim(sig: EdfSignalHeader): boolean {
  return STIM_NAMES.has(sig.label.toLowerCase());
}

const TYPE_PREFIXES: readonly (readonly [RegExp, ChannelType])[] = [
  [/^EOG\b/i, 'eog'],
  [/^(ECG|EKG)\b/i, 'ecg'],
  [/^EMG\b/i, 'emg'],
  [/^RESP\b/i, 'resp'],
  [/^(MISC|TEMP|SPO2|BP|GSR)\b/i, 'misc'],
];

function typeOf(sig: EdfSignalHeader): ChannelType {
  if (isStim(sig)) return 'stim';
  for (const [re, type] of TYPE_PREFIXES) if (re.test(sig.label)) return type;
  if (VOLTS_IN_UV[sig.physicalDimension] === undefined && sig.physicalDimension !== '') return 'misc';
  return 'eeg';
}

function readInt24(buf: Uint8Array, at: number): number {
  const v = buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
  return (v << 8) >> 8;
}

/**
 * Markers from every annotation signal of every record. The first TAL of each record in the first
 * annotation signal keeps time (the record's start); it maps annotation onsets (seconds since the
 * file's start date) onto the sample clock, which matters for discontinuous EDF+D files. A
 * malformed block is reported in `warnings` and skipped.
 */
function readMarkers(
  buf: Uint8Array,
  header: EdfHeader,
  annotationSignals: readonly EdfSignalHeader[],
  records: number,
  source: string,
  warnings: string[],
): { markers: Marker[]; recordStarts: Float64Array } {
  const recordStarts = new Float64Array(records);
  if (annotationSignals.length === 0) return { markers: [], recordStarts };
  const found: { onset: number; duration: number; value: string }[] = [];
  for (let r = 0; r < records; r++) {
    // (a record without its time-keeping TAL is taken to follow the previous one)
    recordStarts[r] = r === 0 ? 0 : recordStarts[r - 1] + header.recordDuration;
    annotationSignals.forEach((sig, a) => {
      const start = header.headerBytes + r * header.recordBytes + header.signalOffsets[sig.index];
      const bytes = buf.subarray(start, start + sig.samplesPerRecord * header.bytesPerSample);
      let tals;
      try {
        tals = parseTals(bytes, (at) => `${source}: record ${r + 1} annotation signal "${sig.label}" at byte ${start + at}`);
      } catch (err) {
        // A garbled annotation block loses its own annotations, never the samples or other records.
        warnings.push(`${(err as Error).message}; the annotations of this block were skipped`);
        return;
      }
      tals.forEach((tal, t) => {
        if (a === 0 && t === 0 && tal.texts.length === 0) {
          recordStarts[r] = tal.onset;
          return;
        }
        for (const value of tal.texts) found.push({ onset: tal.onset, duration: tal.duration, value });
      });
    });
  }
  const origin = records > 0 ? recordStarts[0] : 0;
  const markers = found.map(({ onset, duration, value }) => ({ time: toStreamTime(onset, recordStarts, header.recordDuration, origin), duration, value }));
  // Stable sort keeps file order for equal onsets.
  return { markers: markers.sort((x, y) => x.time - y.time), recordStarts };
}

/** The pauses between the records of a discontinuous (EDF+D) file, on the sample clock. */
function pauses(recordStarts: Float64Array, recordDuration: number, sampleRate: number): Gap[] {
  const gaps: Gap[] = [];
  for (let r = 1; r < recordStarts.length; r++) {
    const seconds = recordStarts[r] - recordStarts[r - 1] - recordDuration;
    if (seconds > 1e-6) gaps.push({ time: r * recordDuration, samples: Math.round(seconds * sampleRate), seconds, cause: 'recording paused (EDF+D: the next record starts later)' });
  }
  return gaps;
}

/** Seconds since the first sample for an onset in file time, honouring gaps between records. */
function toStreamTime(onset: number, recordStarts: Float64Array, recordDuration: number, origin: number): number {
  // Find the last record starting at or before the onset (binary search; starts are increasing).
  let lo = 0;
  let hi = recordStarts.length - 1;
  if (hi < 0 || onset < recordStarts[0]) return onset - origin;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (recordStarts[mid] <= onset) lo = mid;
    else hi = mid - 1;
  }
  return lo * recordDuration + (onset - recordStarts[lo]);
}

/** The header's start date plus the sub-second offset of the first record, when EDF+ states one. */
function startDateOf(header: EdfHeader, buf: Uint8Array, annotationSignals: readonly EdfSignalHeader[]): Date | undefined {
  if (!header.startDate || annotationSignals.length === 0) return header.startDate;
  const sig = annotationSignals[0];
  const start = header.headerBytes + header.signalOffsets[sig.index];
  if (start + sig.samplesPerRecord * header.bytesPerSample > buf.length) return header.startDate;
  let first;
  try {
    first = parseTals(buf.subarray(start, start + sig.samplesPerRecord * header.bytesPerSample), () => 'first record')[0];
  } catch {
    return header.startDate;
  }
  if (!first || first.texts.length > 0) return header.startDate;
  const date = new Date(header.startDate.getTime() + first.onset * 1000);
  return Number.isNaN(date.getTime()) ? header.startDate : date;
}
