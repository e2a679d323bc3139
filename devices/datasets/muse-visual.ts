import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readMuseCsv, type MuseCsvOptions, type MuseRecording } from '../file/muse-csv.js';

/**
 * The NeuroTechX eeg-notebooks v0.1 visual recordings (Muse headband through muse-lsl, see
 * devices/file/muse-csv.ts for the file format), as they lie under the shared data folder's
 * muse-visual/<paradigm>/:
 *
 *     subject1/session1/data_2017-09-13-15.30.01.csv           (most runs: data_<date>.csv)
 *     subject3/session3/recording_2018-05-29-20.14.04.csv.csv  (some: recording_<date>.csv.csv)
 *
 * N170 (faces vs houses: 1 = house, 2 = face), subjects 1, 2, 3, 10; P300 (cats vs dogs oddball:
 * 1 = non-target, 2 = target), subjects 1-4; SSVEP (two flicker frequencies, 1 and 2), subjects 1
 * and 3. One to three sessions each, one or more runs per session. Some runs hold only a handful
 * of markers: they are read as they are, the caller decides what to keep.
 */
export type MuseParadigm = 'N170' | 'P300' | 'SSVEP';

export interface MuseRun {
  readonly subject: number;
  readonly session: number;
  readonly file: string;
  readonly recording: MuseRecording;
}

/** The paradigm's folder under `dataDir`: `dataDir/muse-visual/<paradigm>`, or `dataDir` itself when it holds the subject folders. */
export function museVisualDir(dataDir: string, paradigm: MuseParadigm): string {
  const nested = path.join(dataDir, 'muse-visual', paradigm);
  if (existsSync(nested)) return nested;
  if (readdirSafe(dataDir).some((n) => /^subject\d+$/.test(n))) return dataDir;
  throw new Error(
    `${paradigm}: no muse-visual/${paradigm} folder under ${dataDir} (set NEURORX_DATA to the shared data folder; the recordings are NeuroTechX eeg-notebooks v0.1's data/visual/${paradigm})`,
  );
}

/** A subject's run files, by session then by file name (the names carry the start time). */
export function museVisualFiles(dataDir: string, paradigm: MuseParadigm, subject: number): { session: number; file: string }[] {
  if (!Number.isInteger(subject) || subject < 1) throw new Error(`${paradigm}: subject must be a positive integer, got ${subject}`);
  const root = museVisualDir(dataDir, paradigm);
  const dir = path.join(root, `subject${subject}`);
  if (!existsSync(dir)) {
    const have = readdirSafe(root)
      .map((n) => /^subject(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    throw new Error(`${paradigm}: no subject${subject} folder in ${root} (subjects present: ${have.join(', ') || 'none'})`);
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
  if (out.length === 0) throw new Error(`${paradigm}: no session<N>/*.csv files under ${dir}`);
  return out;
}

/** Reads every run of a subject (see museVisualFiles for the order). */
export async function readMuseVisualSubject(dataDir: string, paradigm: MuseParadigm, subject: number, options: MuseCsvOptions = {}): Promise<MuseRun[]> {
  const files = museVisualFiles(dataDir, paradigm, subject);
  return Promise.all(files.map(async ({ session, file }) => ({ subject, session, file, recording: await readMuseCsv(file, options) })));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
