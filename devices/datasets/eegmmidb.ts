import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Recording } from '../../src/stream/recording.js';
import { readEdf } from '../file/edf-reader.js';

/**
 * The PhysioNet EEG Motor Movement/Imagery dataset laid out as PhysioNet ships it:
 * <dataDir>/eegmmidb/S001/S001R04.edf. Runs 3/7/11 (real) and 4/8/12 (imagined) are left vs
 * right fist; runs 5/9/13 (real) and 6/10/14 (imagined) are both fists vs both feet. T0 marks rest,
 * T1 and T2 the two classes of the run.
 */
export function eegmmidbFile(dataDir: string, subject: number, run: number): string {
  if (!Number.isInteger(subject) || subject < 1 || subject > 109) throw new Error(`eegmmidb: subject must be 1..109, got ${subject}`);
  if (!Number.isInteger(run) || run < 1 || run > 14) throw new Error(`eegmmidb: run must be 1..14, got ${run}`);
  const s = `S${String(subject).padStart(3, '0')}`;
  return path.join(dataDir, 'eegmmidb', s, `${s}R${String(run).padStart(2, '0')}.edf`);
}

/** Class labels of T1 and T2 in a run. */
export function eegmmidbEvents(run: number): Record<string, string> {
  if ([3, 4, 7, 8, 11, 12].includes(run)) return { T1: 'left', T2: 'right' };
  if ([5, 6, 9, 10, 13, 14].includes(run)) return { T1: 'fists', T2: 'feet' };
  throw new Error(`eegmmidb: run ${run} is a baseline run without T1/T2 tasks`);
}

export async function readEegmmidbRun(dataDir: string, subject: number, run: number): Promise<Recording> {
  const file = eegmmidbFile(dataDir, subject, run);
  if (!existsSync(file)) {
    throw new Error(`eegmmidb: ${file} not found (set NEURORX_DATA to the folder holding eegmmidb/; the dataset is at physionet.org/content/eegmmidb/1.0.0/)`);
  }
  return readEdf(file);
}

/** The data folder: $NEURORX_DATA, default ../shared/data relative to the working directory. */
export function defaultDataDir(): string {
  return process.env.NEURORX_DATA ?? path.resolve('..', 'shared', 'data');
}
