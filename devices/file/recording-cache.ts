import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Recording } from '../../src/stream/recording.js';

/**
 * Recordings read from files, shared by every source that replays the same file: a host running
 * hundreds of sessions on one recording holds it once, not once per session. An entry is keyed by
 * the file's absolute path, size, modification time and inode (plus what the reader was asked:
 * an XDF stream), so a changed file is read again. Shared recordings are never written to (replay
 * hands out views of their data, as it already does for every pass of a looping replay). Bounded:
 * the least recently used entries beyond MAX_ENTRIES are forgotten (sources that hold them keep
 * them alive).
 */
const MAX_ENTRIES = 8;

const entries = new Map<string, Promise<Recording>>();

/** The recording of `file`, read by `read` unless the same unchanged file was read before. */
export async function cachedRecording(file: string, variant: string, read: () => Promise<Recording>): Promise<Recording> {
  const absolute = path.resolve(file);
  const s = await stat(absolute).catch(() => undefined);
  // (no such file: the reader says so in its own words)
  if (!s) return read();
  const key = `${absolute}\0${variant}\0${s.size}\0${s.mtimeMs}\0${s.ino}`;
  let entry = entries.get(key);
  if (entry) {
    // (most recently used last)
    entries.delete(key);
    entries.set(key, entry);
    return entry;
  }
  entry = read();
  entries.set(key, entry);
  // A failed read is not remembered: the next attempt reads again.
  entry.catch(() => {
    if (entries.get(key) === entry) entries.delete(key);
  });
  while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  return entry;
}
