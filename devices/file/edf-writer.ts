import { open, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelType, Marker } from '../../src/stream/types.js';

/**
 * EDF+ writer: a `Recording` becomes an EDF+C file (continuous, 16-bit two's complement samples)
 * with one "EDF Annotations" signal holding the markers. The file reads back with `readEdf` (labels,
 * units, rate and markers as written; values within half a quantisation step) and with MNE-Python's
 * `read_raw_edf`.
 *
 * Choices where EDF+ leaves room, all visible in the header:
 * - Channels: by default every channel except those of type "stim" (their events belong in the
 *   markers). `options.channels` picks channels by label, in the order given, stim ones included.
 * - Scaling: digital range -32768..32767 for every signal. The physical range is the channel's data
 *   range, written in at most 8 characters without exponent and rounded outward, so no sample clips;
 *   a value reads back within (physical max - physical min) / 65535 / 2 of the original. The 8
 *   characters hold 6 decimals at most, so a channel whose values all stay below about 1e-4 of its
 *   unit loses resolution (write it in a smaller unit); a value outside -9999999..99999999 cannot be
 *   written at all (use a larger unit).
 *   A flat channel holding an integer of int16 range, a stim channel, and a channel labelled
 *   "Status" or "Trigger" (which readers, ours and MNE's, take as raw trigger codes) are written
 *   with physical = digital (range -32768..32767), so their integer values read back exactly; a stim
 *   or Status/Trigger channel must therefore hold integers within -32768..32767. Another flat channel
 *   is widened by 0.1 % of its value on each side.
 * - Labels: written as the recording names them (so they read back identical), trimmed, with
 *   non-ASCII characters transliterated (µ -> u, é -> e, ...) or replaced by "?", and cut to the 16
 *   characters of the field. EDF+ recommends "<type> <name>" labels ("EEG C3"); `typePrefix: true`
 *   writes those for eeg/eog/ecg/emg/resp/misc channels, which keeps the channel type through our
 *   reader (it infers types from such prefixes) and through MNE with `infer_types=True`. An empty
 *   label, two channels ending up with the same label, or a data channel labelled "EDF Annotations"
 *   is an error.
 * - Physical dimension: the channel's unit as given ("uV" stays "uV"; "µV" is written "uV"), at most
 *   8 characters. Readers convert voltages to their own unit: ours reports uV, MNE volts.
 * - Transducer and prefiltering: blank unless `options.transducer` / `options.prefiltering` state
 *   them (the same text for every data channel); we do not invent what we do not know.
 * - Start: `options.startDate ?? recording.startDate` (`startDate: null` writes none, to anonymise),
 *   written as its UTC fields (EDF holds local time without a zone; our reader reads it back as UTC).
 *   Milliseconds go into the time-keeping TALs ("+0.25" for the first record), as EDF+ specifies, so
 *   our reader recovers the exact start (MNE 1.3 keeps the whole second and shifts the annotations).
 *   With no start date the header says 01.01.85 00.00.00 and the recording field "Startdate X", EDF+'s
 *   form for an unknown date (readers then report 1985-01-01). A date outside 1985..2084 is an error,
 *   and so is a custom recording field whose "Startdate dd-MMM-yyyy" disagrees with the start (MNE
 *   takes the date from there).
 * - Records: `recordSeconds` long (default 1 s, or the smallest whole number of seconds up to 60 that
 *   holds a whole number of samples, e.g. 2 s at 100.5 Hz). EDF has whole records only: the last
 *   record is padded by repeating each channel's last sample (no step for filters to ring on), and
 *   readers see `layout.paddedSamples` more samples than the recording had (see `edfLayout`).
 *   EDF recommends records of at most 61440 bytes; pass a shorter `recordSeconds` (e.g. 0.5) when a
 *   viewer needs that, at 64 channels and 500 Hz a 1 s record is 64000 bytes.
 * - Markers: one TAL each, in the record where its onset falls, onset in seconds since the file
 *   start, written with the shortest decimal that reads back as the same double (no exponent; TAL
 *   numbers have no width limit), duration only when > 0. A marker before the first sample or after
 *   the last record goes into the first or last record with its true onset (our reader keeps it at
 *   its time; MNE drops annotations outside the data with a warning). Text is UTF-8, as EDF+ allows;
 *   tab/newline/carriage return become spaces and other control characters "?" (0x00, 0x14 and 0x15
 *   delimit TALs; MNE's TAL parser stops at newlines). An empty text cannot be stored (it would be a
 *   time-keeping TAL): error. The annotation signal is sized for the fullest record.
 */
export interface EdfWriteOptions {
  /** EDF+ patient field (code sex birthdate name, spaces inside subfields as "_"); default "X X X X". */
  readonly patient?: string;
  /** EDF+ recording field; default "Startdate dd-MMM-yyyy X X neurorx" ("Startdate X X X neurorx" with no date). */
  readonly recording?: string;
  /** Start of the first sample; default `recording.startDate`, else unknown. `null`: write the unknown-date form (anonymised). */
  readonly startDate?: Date | null;
  /** Data record duration in seconds; default 1, or the smallest whole number (<= 60) giving whole samples. */
  readonly recordSeconds?: number;
  /** Channels to write, by label and in this order; default all channels whose type is not "stim". */
  readonly channels?: readonly string[];
  /** Write EDF+ style "<TYPE> <label>" labels (e.g. "EEG C3", "EOG HEOG"); default false (labels as given). */
  readonly typePrefix?: boolean;
  /** Transducer field of every data channel (e.g. "AgAgCl electrode"); default blank. */
  readonly transducer?: string;
  /** Prefiltering field of every data channel (e.g. "HP:0.1Hz LP:75Hz"); default blank. */
  readonly prefiltering?: string;
  /** `writeEdf` only: replace an existing file. By default an existing file is an error. */
  readonly overwrite?: boolean;
}

/** What `encodeEdf`/`writeEdf` will write for a recording. */
export interface EdfLayout {
  /** Labels of the data signals as written (the annotation signal comes after them). */
  readonly labels: readonly string[];
  readonly recordSeconds: number;
  /** Samples per data record of every data signal. */
  readonly samplesPerRecord: number;
  readonly records: number;
  /** Samples added at the end to fill the last record (each channel's last value repeated). */
  readonly paddedSamples: number;
  /** Bytes of the "EDF Annotations" signal in each record. */
  readonly annotationBytes: number;
  readonly headerBytes: number;
  readonly recordBytes: number;
  readonly fileBytes: number;
}

/** A recording or option that cannot be written as EDF+; `field` names what is at fault. */
export class EdfWriteError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`EDF writer: ${field}: ${detail}`);
    this.name = 'EdfWriteError';
  }
}

const DIGITAL_MIN = -32768;
const DIGITAL_MAX = 32767;
const DIGITAL_RANGE = DIGITAL_MAX - DIGITAL_MIN;
const ANNOTATION_LABEL = 'EDF Annotations';
const BLOCK_BYTES = 8 << 20;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const TYPE_PREFIX: Partial<Record<ChannelType, string>> = { eeg: 'EEG', eog: 'EOG', ecg: 'ECG', emg: 'EMG', resp: 'Resp', misc: 'MISC' };

interface SignalPlan {
  /** Index of the channel in the recording. */
  readonly channel: number;
  readonly label: string;
  readonly dimension: string;
  readonly physicalMin: string;
  readonly physicalMax: string;
  /** digital = round((value - offset) / cal), as readers invert it. */
  readonly cal: number;
  readonly offset: number;
}

interface Plan extends EdfLayout {
  readonly signals: readonly SignalPlan[];
  readonly header: Buffer;
  /** Seconds from the header's whole-second start to the first sample. */
  readonly startFraction: number;
  /** Encoded marker TALs per record index (records without markers are absent). */
  readonly tals: ReadonlyMap<number, readonly Buffer[]>;
}

/** The layout `encodeEdf` would produce, after the same checks (and the same errors). */
export function edfLayout(recording: Recording, options: EdfWriteOptions = {}): EdfLayout {
  const p = plan(recording, options);
  return {
    labels: p.labels,
    recordSeconds: p.recordSeconds,
    samplesPerRecord: p.samplesPerRecord,
    records: p.records,
    paddedSamples: p.paddedSamples,
    annotationBytes: p.annotationBytes,
    headerBytes: p.headerBytes,
    recordBytes: p.recordBytes,
    fileBytes: p.fileBytes,
  };
}

/** The whole EDF+ file in memory. */
export function encodeEdf(recording: Recording, options: EdfWriteOptions = {}): Buffer {
  const p = plan(recording, options);
  const out = Buffer.alloc(p.fileBytes);
  p.header.copy(out, 0);
  encodeRecords(p, recording, out, p.headerBytes, 0, p.records);
  return out;
}

/**
 * Writes the file record block by record block (a few MB at a time, whatever the recording's size).
 * Everything is checked before the file is created; a failed write removes the partial file.
 */
export async function writeEdf(path: string, recording: Recording, options: EdfWriteOptions = {}): Promise<void> {
  const p = plan(recording, options);
  let fh;
  try {
    fh = await open(path, options.overwrite ? 'w' : 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EdfWriteError('path', `${path} already exists; pass overwrite: true to replace it`);
    }
    throw err;
  }
  try {
    await writeAll(fh, p.header, p.header.length);
    const perBlock = Math.max(1, Math.min(p.records, Math.floor(BLOCK_BYTES / p.recordBytes)));
    const block = Buffer.alloc(perBlock * p.recordBytes);
    for (let r = 0; r < p.records; r += perBlock) {
      const end = Math.min(p.records, r + perBlock);
      encodeRecords(p, recording, block, 0, r, end);
      await writeAll(fh, block, (end - r) * p.recordBytes);
    }
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done);
    done += bytesWritten;
  }
}

function plan(recording: Recording, options: EdfWriteOptions): Plan {
  const { info, data, samples } = recording;
  const rate = info.sampleRate;
  if (!(Number.isFinite(rate) && rate > 0)) throw new EdfWriteError('info.sampleRate', `must be a positive number of Hz, found ${rate}`);
  const nch = info.channels.length;
  if (!Number.isInteger(samples) || samples < 1) throw new EdfWriteError('samples', `need at least 1 sample to write, found ${samples}`);
  if (data.length !== samples * nch) {
    throw new EdfWriteError('data', `holds ${data.length} values, ${samples} samples of ${nch} channels need ${samples * nch}`);
  }

  const picked = pickChannels(recording, options.channels);
  if (picked.length + 1 > 9999) throw new EdfWriteError('channels', `${picked.length} channels plus the annotation signal exceed EDF's 9999 signals`);

  const { seconds: recordSeconds, text: durationText, perRecord } = recordDuration(rate, options.recordSeconds);
  const records = Math.ceil(samples / perRecord);
  if (records > 99_999_999) throw new EdfWriteError('recordSeconds', `${records} data records do not fit the 8-character field; use longer records`);

  const ranges = dataRanges(recording, picked);
  const labels = new Map<string, number>();
  const signals: SignalPlan[] = picked.map((c, j) => {
    const ch = info.channels[c];
    const where = `channel ${c + 1} "${ch.label}"`;
    const prefix = options.typePrefix ? TYPE_PREFIX[ch.type] : undefined;
    let label = toAscii(ch.label).trim();
    if (prefix && !label.toUpperCase().startsWith(`${prefix.toUpperCase()} `)) label = `${prefix} ${label}`;
    label = label.slice(0, 16).trim();
    if (label === '') throw new EdfWriteError(where, 'the label is empty');
    if (label === ANNOTATION_LABEL || label === 'BDF Annotations') {
      throw new EdfWriteError(where, `the label "${label}" is reserved for annotation signals`);
    }
    const clash = labels.get(label);
    if (clash !== undefined) {
      throw new EdfWriteError(where, `written as "${label}", the same label as channel ${clash + 1} "${info.channels[clash].label}" (EDF labels have 16 ASCII characters); pick or rename channels`);
    }
    labels.set(label, c);
    const dimension = toAscii(ch.unit).trim();
    if (dimension.length > 8) throw new EdfWriteError(where, `unit "${ch.unit}" is longer than the 8 characters of EDF's physical dimension`);
    // Readers take "Status"/"Trigger" channels as raw digital codes: write those (and stim channels) unscaled.
    const raw = ch.type === 'stim' || /^(status|trigger)$/i.test(label);
    if (raw) checkTriggerCodes(recording, c, where);
    return { channel: c, label, dimension, ...scaling(where, ranges[j], raw) };
  });

  const start = startOf(options.startDate === null ? undefined : (options.startDate ?? recording.startDate));
  const patient = headerText('patient', options.patient ?? 'X X X X', 80);
  const recordingField = headerText('recording', options.recording ?? `Startdate ${start.edfPlusDate} X X neurorx`, 80);
  checkRecordingDate(recordingField, start.edfPlusDate);
  const transducer = headerText('transducer', options.transducer ?? '', 80);
  const prefiltering = headerText('prefiltering', options.prefiltering ?? '', 80);

  // Markers: one TAL each, in the record holding their onset (clamped to the file's records).
  const tals = new Map<number, Buffer[]>();
  const order = recording.markers.map((_, i) => i).sort((a, b) => recording.markers[a].time - recording.markers[b].time || a - b);
  for (const i of order) {
    const m = recording.markers[i];
    const tal = markerTal(m, i, start.fraction);
    const r = Math.min(records - 1, Math.max(0, Math.floor(m.time / recordSeconds)));
    let list = tals.get(r);
    if (!list) tals.set(r, (list = []));
    list.push(tal);
  }
  let annotationBytes = 0;
  for (let r = 0; r < records; r++) {
    let bytes = timeKeepingTal(r, recordSeconds, start.fraction).length;
    for (const tal of tals.get(r) ?? []) bytes += tal.length;
    if (bytes > annotationBytes) annotationBytes = bytes;
  }
  annotationBytes += annotationBytes % 2;

  const ns = signals.length + 1;
  const headerBytes = 256 * (ns + 1);
  const recordBytes = signals.length * perRecord * 2 + annotationBytes;
  const fileBytes = headerBytes + records * recordBytes;
  if (!Number.isSafeInteger(fileBytes)) throw new EdfWriteError('data', `a file of ${fileBytes} bytes is too large`);

  const h = new HeaderBuilder(headerBytes);
  h.field('version', '0', 8);
  h.field('patient', patient, 80);
  h.field('recording', recordingField, 80);
  h.field('startdate', start.date, 8);
  h.field('starttime', start.time, 8);
  h.field('header bytes', String(headerBytes), 8);
  h.field('reserved', 'EDF+C', 44);
  h.field('number of data records', String(records), 8);
  h.field('data record duration', durationText, 8);
  h.field('number of signals', String(ns), 4);
  const perSignal = (name: string, width: number, value: (s: SignalPlan) => string, annotation: string): void => {
    for (const s of signals) h.field(`${name} of "${s.label}"`, value(s), width);
    h.field(`${name} of the annotation signal`, annotation, width);
  };
  perSignal('label', 16, (s) => s.label, ANNOTATION_LABEL);
  perSignal('transducer', 80, () => transducer, '');
  perSignal('physical dimension', 8, (s) => s.dimension, '');
  perSignal('physical minimum', 8, (s) => s.physicalMin, '-1');
  perSignal('physical maximum', 8, (s) => s.physicalMax, '1');
  perSignal('digital minimum', 8, () => String(DIGITAL_MIN), String(DIGITAL_MIN));
  perSignal('digital maximum', 8, () => String(DIGITAL_MAX), String(DIGITAL_MAX));
  perSignal('prefiltering', 80, () => prefiltering, '');
  perSignal('samples per record', 8, () => String(perRecord), String(annotationBytes / 2));
  perSignal('reserved', 32, () => '', '');

  return {
    labels: signals.map((s) => s.label),
    recordSeconds,
    samplesPerRecord: perRecord,
    records,
    paddedSamples: records * perRecord - samples,
    annotationBytes,
    headerBytes,
    recordBytes,
    fileBytes,
    signals,
    header: h.done(),
    startFraction: start.fraction,
    tals,
  };
}

function pickChannels(recording: Recording, wanted: readonly string[] | undefined): number[] {
  const channels = recording.info.channels;
  if (wanted === undefined) {
    const picked = channels.map((c, i) => (c.type === 'stim' ? -1 : i)).filter((i) => i >= 0);
    if (picked.length === 0) throw new EdfWriteError('channels', 'the recording has only stim channels; name them in options.channels to write them');
    return picked;
  }
  if (wanted.length === 0) throw new EdfWriteError('channels', 'no channels asked for');
  return wanted.map((label, k) => {
    if (wanted.indexOf(label) !== k) throw new EdfWriteError('channels', `"${label}" is listed twice`);
    const found = channels.map((c, i) => (c.label === label ? i : -1)).filter((i) => i >= 0);
    if (found.length === 0) {
      throw new EdfWriteError('channels', `no channel labelled "${label}" (the recording has ${channels.map((c) => c.label).join(', ')})`);
    }
    if (found.length > 1) throw new EdfWriteError('channels', `"${label}" is the label of ${found.length} channels (${found.map((i) => i + 1).join(', ')})`);
    return found[0];
  });
}

/** Whole samples per record: `recordSeconds` as asked, else 1 s or the first whole second count that fits. */
function recordDuration(rate: number, asked: number | undefined): { seconds: number; text: string; perRecord: number } {
  const whole = (n: number): boolean => Math.abs(n - Math.round(n)) <= 1e-9 * Math.max(1, n) && Math.round(n) >= 1;
  if (asked !== undefined) {
    if (!(Number.isFinite(asked) && asked > 0)) throw new EdfWriteError('recordSeconds', `must be a positive number of seconds, found ${asked}`);
    const text = plainNumber(asked);
    if (text === undefined || text.length > 8) {
      throw new EdfWriteError('recordSeconds', `${asked} cannot be written exactly in EDF's 8-character data record duration`);
    }
    if (!whole(rate * asked)) {
      throw new EdfWriteError('recordSeconds', `${asked} s at ${rate} Hz is ${rate * asked} samples; a data record needs a whole number of samples`);
    }
    return { seconds: asked, text, perRecord: Math.round(rate * asked) };
  }
  for (let seconds = 1; seconds <= 60; seconds++) {
    if (whole(rate * seconds)) return { seconds, text: String(seconds), perRecord: Math.round(rate * seconds) };
  }
  throw new EdfWriteError('info.sampleRate', `${rate} Hz gives no whole number of samples in any data record of 1 to 60 whole seconds; pass recordSeconds`);
}

interface Range {
  readonly min: number;
  readonly max: number;
}

/** Minimum and maximum of each picked channel; a NaN or infinite sample is an error. */
function dataRanges(recording: Recording, picked: readonly number[]): Range[] {
  const { data, samples, info } = recording;
  const nch = info.channels.length;
  const n = picked.length;
  const mins = new Float64Array(n).fill(Infinity);
  const maxs = new Float64Array(n).fill(-Infinity);
  const idx = Int32Array.from(picked);
  let poison = 0; // v * 0 is NaN for NaN and infinities, 0 otherwise
  for (let s = 0, base = 0; s < samples; s++, base += nch) {
    for (let j = 0; j < n; j++) {
      const v = data[base + idx[j]];
      if (v < mins[j]) mins[j] = v;
      if (v > maxs[j]) maxs[j] = v;
      poison += v * 0;
    }
  }
  if (poison !== 0) {
    for (const c of picked) {
      for (let s = 0; s < samples; s++) {
        const v = data[s * nch + c];
        if (!Number.isFinite(v)) {
          throw new EdfWriteError(`channel ${c + 1} "${info.channels[c].label}"`, `sample ${s} is ${v}; EDF samples are finite numbers`);
        }
      }
    }
  }
  return picked.map((_, j) => ({ min: mins[j], max: maxs[j] }));
}

/** A trigger channel is written unscaled: its values must be integers (the range is checked in `scaling`). */
function checkTriggerCodes(recording: Recording, c: number, where: string): void {
  const { data, samples, info } = recording;
  const nch = info.channels.length;
  for (let s = 0; s < samples; s++) {
    const v = data[s * nch + c];
    if (!Number.isInteger(v)) throw new EdfWriteError(where, `sample ${s} is ${v}; a trigger channel is written unscaled and must hold integers`);
  }
}

function scaling(where: string, range: Range, raw: boolean): Omit<SignalPlan, 'channel' | 'label' | 'dimension'> {
  const identity = { physicalMin: String(DIGITAL_MIN), physicalMax: String(DIGITAL_MAX), cal: 1, offset: 0 };
  const { min, max } = range;
  const fitsInt16 = min >= DIGITAL_MIN && max <= DIGITAL_MAX;
  if (raw) {
    if (!fitsInt16) throw new EdfWriteError(where, `trigger codes must lie within ${DIGITAL_MIN}..${DIGITAL_MAX}, found ${min}..${max}`);
    return identity;
  }
  if (min === max && Number.isInteger(min) && fitsInt16) return identity;
  let lo = min;
  let hi = max;
  if (lo === hi) {
    const widen = Math.abs(lo) * 1e-3;
    lo -= widen;
    hi += widen;
  }
  const physicalMin = boundText(lo, -1);
  const physicalMax = boundText(hi, 1);
  if (physicalMin === undefined || physicalMax === undefined) {
    throw new EdfWriteError(where, `values ${min}..${max} do not fit EDF's 8-character physical minimum/maximum (-9999999..99999999); use a larger unit`);
  }
  const pMin = Number(physicalMin);
  const pMax = Number(physicalMax);
  // The same arithmetic as readers: cal = physical range / digital range, offset = pMin - dMin * cal.
  const cal = (pMax - pMin) / DIGITAL_RANGE;
  return { physicalMin, physicalMax, cal, offset: pMin - DIGITAL_MIN * cal };
}

/**
 * `x` in at most 8 characters, no exponent, rounded down (dir -1) or up (dir 1): the most decimals
 * that fit. undefined when even the integer part does not fit.
 */
function boundText(x: number, dir: -1 | 1): string | undefined {
  if (!(Math.abs(x) < 1e8)) return undefined;
  for (let d = 7; d >= 0; d--) {
    const p = 10 ** d;
    let n = dir < 0 ? Math.floor(x * p) : Math.ceil(x * p);
    let text = decimalText(n, d);
    // x * p is rounded: step outward until the text really bounds x.
    while (dir < 0 ? Number(text) > x : Number(text) < x) {
      n += dir;
      text = decimalText(n, d);
    }
    if (text.length <= 8) return text;
  }
  return undefined;
}

/** n / 10^d in plain decimal notation, trailing zeros dropped ("-0" as "0"). */
function decimalText(n: number, d: number): string {
  const digits = String(Math.abs(n)).padStart(d + 1, '0');
  const int = digits.slice(0, digits.length - d);
  const frac = digits.slice(digits.length - d).replace(/0+$/, '');
  const text = frac ? `${int}.${frac}` : int;
  return n < 0 && /[1-9]/.test(text) ? `-${text}` : text;
}

/** The shortest decimal reading back as `x` (x >= 0 finite), without exponent; undefined from 1e21. */
function plainNumber(x: number): string | undefined {
  const s = String(x);
  const m = /^(\d)(?:\.(\d+))?e-(\d+)$/.exec(s);
  if (m) return `0.${'0'.repeat(Number(m[3]) - 1)}${m[1]}${m[2] ?? ''}`; // below 1e-6 String() uses exponents
  return s.includes('e') ? undefined : s;
}

interface Start {
  /** Header fields "dd.mm.yy" and "hh.mm.ss". */
  readonly date: string;
  readonly time: string;
  /** "dd-MMM-yyyy" for the EDF+ recording field, "X" when unknown. */
  readonly edfPlusDate: string;
  /** Seconds past the header's whole second. */
  readonly fraction: number;
}

function startOf(date: Date | undefined): Start {
  if (date === undefined) return { date: '01.01.85', time: '00.00.00', edfPlusDate: 'X', fraction: 0 };
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new EdfWriteError('startDate', 'is an invalid Date');
  const year = date.getUTCFullYear();
  if (year < 1985 || year > 2084) {
    throw new EdfWriteError('startDate', `${date.toISOString()} is outside 1985..2084, the years EDF's two-digit "dd.mm.yy" can hold`);
  }
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = two(date.getUTCDate());
  return {
    date: `${day}.${two(date.getUTCMonth() + 1)}.${two(year % 100)}`,
    time: `${two(date.getUTCHours())}.${two(date.getUTCMinutes())}.${two(date.getUTCSeconds())}`,
    edfPlusDate: `${day}-${MONTHS[date.getUTCMonth()]}-${year}`,
    fraction: date.getUTCMilliseconds() / 1000,
  };
}

/** MNE takes the date from an EDF+ recording field's "Startdate dd-MMM-yyyy" over the header's: they must agree. */
function checkRecordingDate(field: string, edfPlusDate: string): void {
  const m = /^Startdate (\S+)/.exec(field);
  if (!m || !/^\d\d-[A-Za-z]{3}-\d{4}$/.test(m[1])) return;
  if (m[1].toUpperCase() !== edfPlusDate) {
    throw new EdfWriteError('recording', `states "Startdate ${m[1]}" but the start date is ${edfPlusDate === 'X' ? 'unknown' : edfPlusDate}`);
  }
}

function headerText(field: string, value: string, width: number): string {
  const text = toAscii(value);
  if (text.length > width) throw new EdfWriteError(field, `"${text}" has ${text.length} characters, the EDF field ${width}`);
  return text;
}

const TRANSLITERATE: Record<string, string> = {
  µ: 'u',
  μ: 'u',
  '°': 'deg',
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  ø: 'o',
  Ø: 'O',
  œ: 'oe',
  Œ: 'OE',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
};

/** Printable ASCII: common letters transliterated, accents dropped, anything else "?". */
function toAscii(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) {
      out += ch;
      continue;
    }
    const mapped = TRANSLITERATE[ch] ?? ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    out += /^[\x20-\x7e]+$/.test(mapped) ? mapped : '?';
  }
  return out;
}

function talOnset(x: number): string {
  return (x < 0 ? '-' : '+') + plainNumber(Math.abs(x))!;
}

const utf8 = new TextEncoder();

function timeKeepingTal(record: number, recordSeconds: number, fraction: number): Uint8Array {
  return utf8.encode(`${talOnset(fraction + record * recordSeconds)}\x14\x14\x00`);
}

function markerTal(m: Marker, i: number, fraction: number): Buffer {
  const where = `marker ${i + 1} (${JSON.stringify(m.value)} at ${m.time} s)`;
  if (!Number.isFinite(m.time) || Math.abs(m.time) >= 1e15) throw new EdfWriteError(where, `time must be a finite number of seconds, found ${m.time}`);
  if (!(Number.isFinite(m.duration) && m.duration >= 0)) throw new EdfWriteError(where, `duration must be 0 or more seconds, found ${m.duration}`);
  if (m.value === '') throw new EdfWriteError(where, 'an empty text cannot be stored in EDF+ (it would read as a time-keeping annotation)');
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const text = m.value.replace(/[\t\n\r\v\f]/g, ' ').replace(/[\x00-\x1f\x7f]/g, '?');
  const duration = m.duration > 0 ? `\x15${plainNumber(m.duration)}` : '';
  return Buffer.from(`${talOnset(fraction + m.time)}${duration}\x14${text}\x14\x00`, 'utf8');
}

class HeaderBuilder {
  private readonly buf: Buffer;
  private at = 0;
  constructor(private readonly size: number) {
    this.buf = Buffer.alloc(size, 0x20);
  }
  field(name: string, value: string, width: number): void {
    if (value.length > width || !/^[\x20-\x7e]*$/.test(value)) {
      throw new EdfWriteError(name, `"${value}" is not at most ${width} printable ASCII characters`);
    }
    this.buf.write(value, this.at, 'latin1');
    this.at += width;
  }
  done(): Buffer {
    if (this.at !== this.size) throw new Error(`EDF writer: header is ${this.at} bytes, expected ${this.size}`);
    return this.buf;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Encodes records [from, to) into `out` at byte `at`. */
function encodeRecords(p: Plan, recording: Recording, out: Buffer, at: number, from: number, to: number): void {
  const { data, samples, info } = recording;
  const nch = info.channels.length;
  const spr = p.samplesPerRecord;
  const aligned = LITTLE_ENDIAN && (out.byteOffset + at) % 2 === 0;
  const words = aligned ? new Int16Array(out.buffer, out.byteOffset + at, ((to - from) * p.recordBytes) / 2) : undefined;
  const view = aligned ? undefined : new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let r = from; r < to; r++) {
    const recordAt = at + (r - from) * p.recordBytes;
    let byte = recordAt;
    for (const sig of p.signals) {
      const { channel, cal, offset } = sig;
      const inv = 1 / cal;
      const first = r * spr;
      const real = Math.min(spr, samples - first); // the rest pads with the last sample
      // digital = round((v - offset) / cal), computed as floor(y + 32768.5) - 32768 with a truncating
      // `| 0` (y + 32768.5 >= 0 for every v >= physical min), clamped to the digital range.
      const shift = 0.5 - DIGITAL_MIN;
      if (words) {
        const w0 = (byte - at) >> 1;
        for (let k = 0, i = first * nch + channel; k < real; k++, i += nch) {
          const u = ((data[i] - offset) * inv + shift) | 0;
          words[w0 + k] = (u > DIGITAL_RANGE ? DIGITAL_RANGE : u < 0 ? 0 : u) + DIGITAL_MIN;
        }
        // Past the last sample (last record only): repeat it.
        if (real < spr) words.fill(words[w0 + real - 1], w0 + real, w0 + spr);
      } else {
        let d = 0;
        for (let k = 0, i = first * nch + channel; k < spr; k++, i += nch) {
          if (k < real) {
            const u = ((data[i] - offset) * inv + shift) | 0;
            d = (u > DIGITAL_RANGE ? DIGITAL_RANGE : u < 0 ? 0 : u) + DIGITAL_MIN;
          }
          view!.setInt16(byte + 2 * k, d, true);
        }
      }
      byte += spr * 2;
    }
    // Annotation signal: time-keeping TAL, then the record's markers, zero padded.
    out.fill(0, byte, byte + p.annotationBytes);
    const keep = timeKeepingTal(r, p.recordSeconds, p.startFraction);
    out.set(keep, byte);
    let a = byte + keep.length;
    for (const tal of p.tals.get(r) ?? []) {
      tal.copy(out, a);
      a += tal.length;
    }
  }
}
