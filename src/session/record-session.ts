import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config-schema.js';
import type { StreamInfo } from '../stream/types.js';
import { exportEdfFromRecording } from './export-edf.js';
import { SessionRecorder } from './session-recorder.js';

type RecordSettings = NonNullable<Config['record']>;

/** The recording's path with "{time}" replaced by `now` (ISO, with characters every file system accepts). */
export function recordingPath(pattern: string, now = new Date()): string {
  return pattern.replaceAll(
    '{time}',
    now
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replaceAll(':', '-'),
  );
}

/** Starts recording a session as its config's `record` block says (the config is the first entry). */
export function openSessionRecorder(settings: RecordSettings, info: StreamInfo, config: Config): SessionRecorder {
  const file = recordingPath(settings.path);
  let recorder: SessionRecorder;
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    recorder = new SessionRecorder(file, info, { source: config.source.uri, flushIntervalMs: settings.flushIntervalMs, overwrite: settings.overwrite });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`record.path: ${file} exists; a recording is never overwritten (use "{time}" in the path, or record.overwrite)`);
    throw new Error(`record.path: cannot create ${file}: ${code ?? (e as Error).message}`);
  }
  // The recording may be shared: the server's token stays out of it.
  recorder.entry({ kind: 'config', config: { ...config, server: { ...config.server, token: undefined } } });
  return recorder;
}

/** Closes a recording that holds no signal yet and removes its file. */
export function discardRecording(recorder: SessionRecorder): void {
  recorder.close();
  if (recorder.sampleCount === 0) rmSync(recorder.path, { force: true });
}

/** Closes the recording and, when asked, exports its signal and markers to EDF+ beside it. */
export async function closeRecording(recorder: SessionRecorder, settings: RecordSettings, log: (line: string) => void): Promise<void> {
  recorder.close();
  log(`recorded ${recorder.sampleCount} samples to ${recorder.path}`);
  if (!settings.edf) return;
  try {
    log(`exported ${await exportEdfBeside(recorder.path, settings.overwrite)}`);
  } catch (e) {
    log(`EDF+ export failed (the XDF recording is complete): ${(e as Error).message}`);
  }
}

/** Exports an XDF recording to EDF+ beside it (same name, .edf); returns a one-line summary. */
export function exportEdfBeside(xdfPath: string, overwrite: boolean): Promise<string> {
  return exportEdfFromRecording(xdfPath, xdfPath.replace(/\.xdf$/i, '') + '.edf', { overwrite });
}
