import { parseMuseCsv as parseAnyMuseCsv, readMuseCsv as readAnyMuseCsv, type MuseRecording } from '../file/muse-csv.js';
import { museVisualDir, museVisualFiles, readMuseVisualSubject, type MuseRun } from './muse-visual.js';

/**
 * The NeuroTechX eeg-notebooks N170 recordings (faces vs houses; see muse-visual.ts for the
 * layout and devices/file/muse-csv.ts for the format): Marker 1 = house image onset, 2 = face
 * image onset, read as markers "house" and "face".
 */

export { MUSE_EEG_CHANNELS, MUSE_SAMPLE_RATE, type MuseRecording } from '../file/muse-csv.js';
/** Marker codes of the N170 paradigm. */
export const N170_EVENTS: Readonly<Record<string, string>> = { '1': 'house', '2': 'face' };

export type N170Run = MuseRun;

/** A run with its markers named "house" and "face" (any other code kept as its number, with a warning). */
export async function readMuseCsv(file: string): Promise<MuseRecording> {
  return readAnyMuseCsv(file, { events: N170_EVENTS });
}

export function parseMuseCsv(text: string, source: string): MuseRecording {
  return parseAnyMuseCsv(text, source, { events: N170_EVENTS });
}

export function n170Dir(dataDir: string): string {
  return museVisualDir(dataDir, 'N170');
}

export function n170Files(dataDir: string, subject: number): { session: number; file: string }[] {
  return museVisualFiles(dataDir, 'N170', subject);
}

export async function readN170Subject(dataDir: string, subject: number): Promise<N170Run[]> {
  return readMuseVisualSubject(dataDir, 'N170', subject, { events: N170_EVENTS });
}
