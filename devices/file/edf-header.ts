/**
 * EDF / EDF+ / BDF / BDF+ header parsing.
 *
 * The header is ASCII in fixed-width fields: 256 bytes for the file, then 256 bytes per signal laid
 * out field by field (all labels, then all transducers, ...). Every error names the field and the
 * byte offset where it sits, so a corrupt file can be found with a hex viewer.
 */

export type EdfFlavour = 'edf' | 'edf+c' | 'edf+d' | 'bdf' | 'bdf+c' | 'bdf+d';

export interface EdfSignalHeader {
  readonly index: number;
  readonly label: string;
  readonly transducer: string;
  readonly physicalDimension: string;
  readonly physicalMin: number;
  readonly physicalMax: number;
  readonly digitalMin: number;
  readonly digitalMax: number;
  readonly prefiltering: string;
  readonly samplesPerRecord: number;
  /** True for "EDF Annotations" / "BDF Annotations" signals, which carry TALs, not samples. */
  readonly isAnnotation: boolean;
}

export interface EdfHeader {
  readonly flavour: EdfFlavour;
  /** Bytes per sample: 2 for EDF, 3 for BDF. */
  readonly bytesPerSample: 2 | 3;
  readonly patientId: string;
  readonly recordingId: string;
  /** Start date and time as the header states it (local time of the recording, read as UTC). */
  readonly startDate: Date | undefined;
  readonly headerBytes: number;
  /** Number of data records the header announces; -1 when unknown (still recording). */
  readonly recordsDeclared: number;
  readonly recordDuration: number;
  readonly signals: readonly EdfSignalHeader[];
  /** Bytes of one data record. */
  readonly recordBytes: number;
  /** Byte offset of each signal inside a record. */
  readonly signalOffsets: readonly number[];
}

/** A file that is not valid EDF/BDF; the message names the field and byte offset at fault. */
export class EdfFormatError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${source}: ${field} at byte ${offset}: ${detail}`);
    this.name = 'EdfFormatError';
  }
}

const FIXED_HEADER = 256;
const SIGNAL_FIELDS: readonly (readonly [string, number])[] = [
  ['label', 16],
  ['transducer', 80],
  ['physical dimension', 8],
  ['physical minimum', 8],
  ['physical maximum', 8],
  ['digital minimum', 8],
  ['digital maximum', 8],
  ['prefiltering', 80],
  ['samples per record', 8],
  ['reserved', 32],
];
const SIGNAL_HEADER = SIGNAL_FIELDS.reduce((sum, [, width]) => sum + width, 0);
/** Index of "samples per record" in SIGNAL_FIELDS. */
export const SAMPLES_PER_RECORD_FIELD = 8;

/**
 * Parses and checks the header. `warnings` receives what is odd but readable (a label with control
 * characters, an empty or repeated label).
 */
export function parseEdfHeader(buf: Uint8Array, source: string, warnings: string[] = []): EdfHeader {
  if (buf.length < FIXED_HEADER) {
    throw new EdfFormatError(source, 'header', 0, `file has ${buf.length} bytes, an EDF/BDF header needs at least ${FIXED_HEADER}`);
  }
  const isBdf = buf[0] === 0xff;
  const version = isBdf ? 'BIOSEMI' : ascii(buf, 0, 8).trim();
  if (isBdf ? ascii(buf, 1, 7) !== 'BIOSEMI' : version !== '0') {
    throw new EdfFormatError(source, 'version', 0, `expected "0" (EDF) or 0xFF "BIOSEMI" (BDF), found ${JSON.stringify(ascii(buf, 0, 8))}`);
  }
  const reserved = ascii(buf, 192, 44).trim().toUpperCase();
  const flavour = flavourOf(isBdf, reserved);
  const int = (field: string, offset: number, width: number): number => parseIntField(buf, source, field, offset, width);
  const num = (field: string, offset: number, width: number): number => parseNumberField(buf, source, field, offset, width);

  const headerBytes = int('header bytes', 184, 8);
  const recordsDeclared = int('number of data records', 236, 8);
  const recordDuration = num('data record duration', 244, 8);
  const ns = int('number of signals', 252, 4);
  if (ns < 1) throw new EdfFormatError(source, 'number of signals', 252, `must be at least 1, found ${ns}`);
  if (recordsDeclared < -1) throw new EdfFormatError(source, 'number of data records', 236, `must be -1 or more, found ${recordsDeclared}`);
  if (!(recordDuration >= 0)) throw new EdfFormatError(source, 'data record duration', 244, `must be >= 0, found ${recordDuration}`);
  const expected = FIXED_HEADER + ns * SIGNAL_HEADER;
  if (headerBytes !== expected) {
    throw new EdfFormatError(source, 'header bytes', 184, `states ${headerBytes}, but ${ns} signals need ${expected}`);
  }
  if (buf.length < expected) {
    throw new EdfFormatError(source, 'signal headers', buf.length, `file ends inside the header (${buf.length} of ${expected} bytes)`);
  }

  const fieldOffset = (fieldIndex: number, signal: number): number => signalFieldOffset(ns, fieldIndex, signal);
  // Text fields are padded with spaces (some writers use NULs).
  const text = (f: number, s: number): string => ascii(buf, fieldOffset(f, s), SIGNAL_FIELDS[f][1]).replace(/^[\s\0]+|[\s\0]+$/g, '');
  const signalNum = (f: number, s: number): number => parseNumberField(buf, source, `signal ${s + 1} ${SIGNAL_FIELDS[f][0]}`, fieldOffset(f, s), SIGNAL_FIELDS[f][1]);
  const signalInt = (f: number, s: number): number => parseIntField(buf, source, `signal ${s + 1} ${SIGNAL_FIELDS[f][0]}`, fieldOffset(f, s), SIGNAL_FIELDS[f][1]);

  const bytesPerSample = isBdf ? 3 : 2;
  const signals: EdfSignalHeader[] = [];
  const signalOffsets: number[] = [];
  let recordBytes = 0;
  const seen = new Map<string, number>();
  for (let s = 0; s < ns; s++) {
    const label = labelOf(text(0, s), s, fieldOffset(0, s), warnings);
    const isAnnotation = flavour !== 'edf' && flavour !== 'bdf' && /^(EDF|BDF) Annotations$/.test(label);
    if (!isAnnotation) {
      const first = seen.get(label);
      if (first === undefined) seen.set(label, s);
      else warnings.push(`signal ${s + 1} label at byte ${fieldOffset(0, s)}: "${label}" is also the label of signal ${first + 1}`);
    }
    const digitalMin = signalInt(5, s);
    const digitalMax = signalInt(6, s);
    const samplesPerRecord = signalInt(SAMPLES_PER_RECORD_FIELD, s);
    if (samplesPerRecord < 1) {
      throw new EdfFormatError(source, `signal ${s + 1} samples per record`, fieldOffset(SAMPLES_PER_RECORD_FIELD, s), `must be at least 1, found ${samplesPerRecord}`);
    }
    signals.push({
      index: s,
      label,
      transducer: text(1, s),
      physicalDimension: text(2, s),
      physicalMin: isAnnotation ? 0 : signalNum(3, s),
      physicalMax: isAnnotation ? 1 : signalNum(4, s),
      digitalMin,
      digitalMax,
      prefiltering: text(7, s),
      samplesPerRecord,
      isAnnotation,
    });
    signalOffsets.push(recordBytes);
    recordBytes += samplesPerRecord * bytesPerSample;
  }

  return {
    flavour,
    bytesPerSample,
    patientId: ascii(buf, 8, 80).trim(),
    recordingId: ascii(buf, 88, 80).trim(),
    startDate: parseStartDate(ascii(buf, 168, 8), ascii(buf, 176, 8)),
    headerBytes,
    recordsDeclared,
    recordDuration,
    signals,
    recordBytes,
    signalOffsets,
  };
}

/** Byte offset of per-signal field `fieldIndex` (0 label ... 8 samples per record) of `signal` in a header of `ns` signals. */
export function signalFieldOffset(ns: number, fieldIndex: number, signal: number): number {
  let offset = FIXED_HEADER;
  for (let f = 0; f < fieldIndex; f++) offset += SIGNAL_FIELDS[f][1] * ns;
  return offset + signal * SIGNAL_FIELDS[fieldIndex][1];
}

/** A label as we report it: control characters (EDF allows ASCII 32-126) become "?", an empty one "signal N". */
function labelOf(raw: string, s: number, offset: number, warnings: string[]): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const clean = raw.replace(/[\x00-\x1f\x7f]/g, '?');
  if (clean !== raw) warnings.push(`signal ${s + 1} label at byte ${offset}: control characters in ${JSON.stringify(raw)} shown as "?"`);
  if (clean !== '') return clean;
  warnings.push(`signal ${s + 1} label at byte ${offset}: empty; named "signal ${s + 1}"`);
  return `signal ${s + 1}`;
}

function flavourOf(isBdf: boolean, reserved: string): EdfFlavour {
  if (reserved.startsWith('EDF+D') || reserved.startsWith('BDF+D')) return isBdf ? 'bdf+d' : 'edf+d';
  if (reserved.startsWith('EDF+C') || reserved.startsWith('BDF+C')) return isBdf ? 'bdf+c' : 'edf+c';
  return isBdf ? 'bdf' : 'edf';
}

function ascii(buf: Uint8Array, offset: number, width: number): string {
  let s = '';
  for (let i = offset; i < offset + width && i < buf.length; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/**
 * EDF numbers are ASCII decimals: an optional sign, digits, an optional point and digits (a decimal
 * comma, which some writers use, is read as a point). Anything else ("0x10", "1e3", "Infinity")
 * is refused: JavaScript's Number() would read it as some other number than the writer meant.
 */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function parseNumberField(buf: Uint8Array, source: string, field: string, offset: number, width: number): number {
  const raw = ascii(buf, offset, width);
  const trimmed = raw.trim().replace(',', '.');
  if (!DECIMAL.test(trimmed)) {
    const why = trimmed === '' ? '' : ' (EDF numbers are ASCII decimals: an optional sign, digits, an optional point and digits)';
    throw new EdfFormatError(source, field, offset, `expected a number, found ${JSON.stringify(raw)}${why}`);
  }
  return Number(trimmed);
}

function parseIntField(buf: Uint8Array, source: string, field: string, offset: number, width: number): number {
  const value = parseNumberField(buf, source, field, offset, width);
  if (!Number.isInteger(value)) {
    throw new EdfFormatError(source, field, offset, `expected an integer, found ${JSON.stringify(ascii(buf, offset, width))}`);
  }
  return value;
}

/** "dd.mm.yy" and "hh.mm.ss"; years 85-99 are 19xx, 00-84 are 20xx (EDF spec's clipping date). */
function parseStartDate(date: string, time: string): Date | undefined {
  const d = /^(\d\d)\.(\d\d)\.(\d\d)$/.exec(date.trim());
  const t = /^(\d\d)[.:](\d\d)[.:](\d\d)$/.exec(time.trim());
  if (!d || !t) return undefined;
  const yy = Number(d[3]);
  const year = yy >= 85 ? 1900 + yy : 2000 + yy;
  const ms = Date.UTC(year, Number(d[2]) - 1, Number(d[1]), Number(t[1]), Number(t[2]), Number(t[3]));
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
