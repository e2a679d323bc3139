import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, Marker, StreamInfo } from '../../src/stream/types.js';

/**
 * Muse headband recordings as muse-lsl writes them (NeuroTechX eeg-notebooks: N170, P300, SSVEP):
 * one CSV per run, columns `timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0` (muse-lsl names the
 * marker column of its first marker stream "Marker0"; plain "Marker" is accepted too). EEG in
 * microvolts at 256 Hz; the marker column holds a stimulus code on the sample of its onset and 0
 * on every other sample.
 *
 * Time: sample `s` is at `s / 256` s. The timestamps column is not used for time because it is
 * the receiving computer's clock, not the headband's: in several runs consecutive timestamps
 * step backwards by up to 40 ms and jump forward by up to 58 ms (and one P300 subject's stamps
 * run backwards), while the span of every run equals (rows - 1) / 256 s within a few ms, i.e. no
 * sample was lost and the jitter is in the stamping. The raw stamps are kept in `timestamps` (for
 * dejitter tests). Markers are stamped on a sample, so their times are exact on the sample clock.
 */

export const MUSE_SAMPLE_RATE = 256;
export const MUSE_EEG_CHANNELS = ['TP9', 'AF7', 'AF8', 'TP10'] as const;

export interface MuseRecording extends Recording {
  /** The CSV's timestamps column as recorded (seconds, jittery; see above). */
  readonly timestamps: Float64Array;
  /** Unusual but readable content, e.g. marker codes the paradigm does not name. */
  readonly warnings: readonly string[];
}

export interface MuseCsvOptions {
  /**
   * Marker code -> marker value (e.g. N170's 1 -> "house"). Without it every non-zero code is a
   * marker whose value is the code as a string ("1", "2"); with it, a code it lacks is kept as its
   * string with a warning.
   */
  readonly events?: Readonly<Record<string, string>>;
}

export async function readMuseCsv(file: string, options: MuseCsvOptions = {}): Promise<MuseRecording> {
  return parseMuseCsv(await readFile(file, 'utf8'), file, options);
}

/** A CSV number as pandas writes it: decimal, optional exponent (not "0x10", "Infinity", ...). */
const CSV_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a muse-lsl CSV: the four EEG channels in microvolts (Right AUX dropped) and the marker
 * column's non-zero codes as markers (see MuseCsvOptions.events). A malformed row is an error
 * naming the file, the line (1-based, header = line 1) and the column.
 */
export function parseMuseCsv(text: string, source: string, options: MuseCsvOptions = {}): MuseRecording {
  const events = options.events;
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
      const value = events?.[key];
      if (events && value === undefined) otherCodes.set(key, (otherCodes.get(key) ?? 0) + 1);
      markers.push({ time: samples / MUSE_SAMPLE_RATE, value: value ?? key, duration: 0 });
    }
    samples++;
  }
  if (samples === 0) fail(2, 'no data rows');
  if (events) {
    const named = Object.entries(events).map(([code, v]) => `${code} (${v})`);
    const known = named.length === 2 ? `neither ${named[0]} nor ${named[1]}` : `none of ${named.join(', ')}`;
    for (const [code, n] of otherCodes) warnings.push(`${source}: marker code ${code} (${n}x) is ${known}; kept as "${code}"`);
  }

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

/**
 * The start time in the file name, `..._2017-09-13-15.30.01.csv` or `..._2017-02-04-15_45_13.csv`
 * (local time of the recording, read as UTC as the EDF reader does).
 */
function dateFromName(file: string): Date | undefined {
  const m = /(\d{4})-(\d{2})-(\d{2})-(\d{2})[._](\d{2})[._](\d{2})/.exec(path.basename(file));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}
