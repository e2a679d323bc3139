import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, Marker, StreamInfo } from '../../src/stream/types.js';

/**
 * The NeuroTechX eeg-notebooks N170 recordings (faces vs houses) made with a Muse headband through
 * muse-lsl: one CSV per 2-minute run, columns `timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0`
 * (muse-lsl names the marker column of its first marker stream "Marker0"; plain "Marker" is
 * accepted too). EEG in microvolts at 256 Hz; Marker 1 = house image onset, 2 = face image onset,
 * 0 on every other sample.
 *
 * Layout on disk (as eeg-notebooks ships it, under the shared data folder's muse-visual/N170/):
 *
 *     subject1/session1/data_2017-09-13-15.30.01.csv           (subjects 1, 2, 3: data_<date>.csv)
 *     subject3/session3/recording_2018-05-29-20.14.04.csv.csv  (subject 3 session 3, subject 10:
 *                                                               recording_<date>.csv.csv)
 *
 * Subjects 1, 2, 3 and 10; one to three sessions each, one or more runs per session. Some runs
 * hold only a handful of markers (subject 10's sessions, one of subject 3's): they are read as
 * they are, the caller decides what to keep.
 *
 * Time: sample `s` is at `s / 256` s. The timestamps column is not used for time because it is
 * the receiving computer's clock, not the headband's: on subjects 1 and 10 consecutive timestamps
 * step backwards by up to 40 ms and jump forward by up to 58 ms (hundreds of times per run for
 * subject 10), while the span of every run equals (rows - 1) / 256 s within a few ms, i.e. no
 * sample was lost and the jitter is in the stamping. The raw stamps are kept in `timestamps` (for
 * dejitter tests). Markers are stamped on a sample, so their times are exact on the sample clock.
 */

export const MUSE_SAMPLE_RATE = 256;
export const MUSE_EEG_CHANNELS = ['TP9', 'AF7', 'AF8', 'TP10'] as const;
/** Marker codes of the N170 paradigm. */
export const N170_EVENTS: Readonly<Record<string, string>> = { '1': 'house', '2': 'face' };

export interface MuseRecording extends Recording {
  /** The CSV's timestamps column as recorded (seconds, jittery; see above). */
  readonly timestamps: Float64Array;
  /** Unusual but readable content, e.g. marker codes other than 1 and 2. */
  readonly warnings: readonly string[];
}

export interface N170Run {
  readonly subject: number;
  readonly session: number;
  readonly file: string;
  readonly recording: MuseRecording;
}

export async function readMuseCsv(file: string): Promise<MuseRecording> {
  return parseMuseCsv(await readFile(file, 'utf8'), file);
}

/** A CSV number as pandas writes it: decimal, optional exponent (not "0x10", "Infinity", ...). */
const CSV_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a muse-lsl CSV: the four EEG channels in microvolts (Right AUX dropped), markers
 * '1' -> 'house' and '2' -> 'face' (any other non-zero code is kept as its number, with a
 * warning). A malformed row is an error naming the file and the line (1-based, header = line 1).
 */
export function parseMuseCsv(text: string, source: string): MuseRecording {
  const lines = text.split('\n');
  const fail = (line: number, why: string): never => {
    throw new Error(`${source}: line ${line}: ${why}`);
  };
  const header =
    lines[0]
      ?.replace(/\r$/, '')
      .split(',')
      .map((h) => h.trim()) ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) fail(1, `no "${name}" column in the header (found: ${header.join(', ') || 'nothing'})`);
    return i;
  };
  const tsCol = col('timestamps');
  const eegCols = MUSE_EEG_CHANNELS.map(col);
  const markerCol = header.findIndex((h) => /^Marker\d*$/.test(h));
  if (markerCol < 0) fail(1, `no marker column ("Marker0" or "Marker") in the header (found: ${header.join(', ')})`);

  const nch = MUSE_EEG_CHANNELS.length;
  let data = new Float32Array(nch * 32768);
  let timestamps = new Float64Array(32768);
  const markers: Marker[] = [];
  const warnings: string[] = [];
  const otherCodes = new Map<string, number>();
  let samples = 0;
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li].replace(/\r$/, '');
    if (line.trim() === '') {
      // Blank lines carry no sample; only trailing ones are expected.
      if (lines.slice(li + 1).some((l) => l.trim() !== '')) fail(li + 1, 'empty line between data rows');
      break;
    }
    const fields = line.split(',');
    if (fields.length !== header.length) fail(li + 1, `${fields.length} fields, the header has ${header.length}`);
    const num = (c: number): number => {
      const f = fields[c].trim();
      const v = CSV_NUMBER.test(f) ? Number(f) : NaN;
      if (!Number.isFinite(v)) fail(li + 1, `column "${header[c]}": expected a number, found "${fields[c]}"`);
      return v;
    };
    if (samples === timestamps.length) {
      const grownT = new Float64Array(timestamps.length * 2);
      grownT.set(timestamps);
      timestamps = grownT;
      const grownD = new Float32Array(data.length * 2);
      grownD.set(data);
      data = grownD;
    }
    timestamps[samples] = num(tsCol);
    for (let c = 0; c < nch; c++) data[samples * nch + c] = num(eegCols[c]);
    const code = num(markerCol);
    if (code !== 0) {
      const key = String(code);
      const value = N170_EVENTS[key];
      if (value === undefined) otherCodes.set(key, (otherCodes.get(key) ?? 0) + 1);
      markers.push({ time: samples / MUSE_SAMPLE_RATE, value: value ?? key, duration: 0 });
    }
    samples++;
  }
  if (samples === 0) fail(2, 'no data rows');
  for (const [code, n] of otherCodes) warnings.push(`${source}: marker code ${code} (${n}x) is neither 1 (house) nor 2 (face); kept as "${code}"`);

  const channels: ChannelInfo[] = MUSE_EEG_CHANNELS.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
  const info: StreamInfo = { name: path.basename(source), type: 'EEG', sourceId: source, channels, sampleRate: MUSE_SAMPLE_RATE };
  const startDate = dateFromName(source);
  return {
    info,
    data: data.slice(0, samples * nch),
    samples,
    markers,
    ...(startDate ? { startDate } : {}),
    timestamps: timestamps.slice(0, samples),
    warnings,
  };
}

/** The start time in the file name (local time of the recording, read as UTC as the EDF reader does). */
function dateFromName(file: string): Date | undefined {
  const m = /(\d{4})-(\d{2})-(\d{2})-(\d{2})\.(\d{2})\.(\d{2})/.exec(path.basename(file));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** The N170 folder under `dataDir`: `dataDir/muse-visual/N170`, or `dataDir` itself when it holds the subject folders. */
export function n170Dir(dataDir: string): string {
  const nested = path.join(dataDir, 'muse-visual', 'N170');
  if (existsSync(nested)) return nested;
  if (readdirSafe(dataDir).some((n) => /^subject\d+$/.test(n))) return dataDir;
  throw new Error(`N170: no muse-visual/N170 folder under ${dataDir} (set NEURORX_DATA to the shared data folder; the recordings are NeuroTechX eeg-notebooks v0.1's data/visual/N170)`);
}

/** A subject's run files, by session then by file name (the names carry the start time). */
export function n170Files(dataDir: string, subject: number): { session: number; file: string }[] {
  if (!Number.isInteger(subject) || subject < 1) throw new Error(`N170: subject must be a positive integer, got ${subject}`);
  const root = n170Dir(dataDir);
  const dir = path.join(root, `subject${subject}`);
  if (!existsSync(dir)) {
    const have = readdirSafe(root)
      .map((n) => /^subject(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    throw new Error(`N170: no subject${subject} folder in ${root} (subjects present: ${have.join(', ') || 'none'})`);
  }
  const out: { session: number; file: string }[] = [];
  const sessions = readdirSafe(dir)
    .map((n) => ({ n, m: /^session(\d+)$/.exec(n) }))
    .filter((x) => x.m)
    .map((x) => ({ name: x.n, session: Number(x.m![1]) }))
    .sort((a, b) => a.session - b.session);
  for (const { name, session } of sessions) {
    const files = readdirSafe(path.join(dir, name))
      .filter((f) => f.toLowerCase().endsWith('.csv'))
      .sort();
    for (const f of files) out.push({ session, file: path.join(dir, name, f) });
  }
  if (out.length === 0) throw new Error(`N170: no session<N>/*.csv files under ${dir}`);
  return out;
}

/** Reads every run of a subject (see n170Files for the order). */
export async function readN170Subject(dataDir: string, subject: number): Promise<N170Run[]> {
  const files = n170Files(dataDir, subject);
  return Promise.all(files.map(async ({ session, file }) => ({ subject, session, file, recording: await readMuseCsv(file) })));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
