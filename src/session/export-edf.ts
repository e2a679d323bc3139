import { access } from 'node:fs/promises';
import { writeEdf } from '../../devices/file/edf-writer.js';
import { readXdf } from '../../devices/file/xdf-reader.js';
import { xdfToRecording } from '../../devices/file/xdf-recording.js';
import type { Recording } from '../stream/recording.js';
import type { Marker } from '../stream/types.js';
import { recordedSessionOf, signalInfo, type RecordedSession } from './recorded-session.js';
import { SESSION_STREAM } from './session-recorder.js';

/**
 * Exports the signal of an XDF recording and its markers to EDF+ (for tools that do not read XDF).
 * A neurorx session recording gives its signal stream with the markers that travelled with it and
 * the cues the pipeline generated; any other XDF file (LabRecorder) gives its first regular
 * numeric stream with the string streams as annotations. Onsets are relative to the first sample.
 * Returns a one-line summary.
 */
export async function exportEdfFromRecording(xdfPath: string, edfPath: string, options: { overwrite?: boolean; stream?: string } = {}): Promise<string> {
  if (!options.overwrite && (await exists(edfPath))) throw new Error(`${edfPath} exists; not overwritten (use --overwrite)`);
  const raw = await readXdf(xdfPath, { synchronizeClocks: false, dejitterTimestamps: false });
  let recording: Recording;
  if (raw.streams.some((s) => s.name === SESSION_STREAM) && options.stream === undefined) {
    recording = sessionRecording(recordedSessionOf(raw, xdfPath));
  } else {
    // Other writers' files: clock-corrected and dejittered, as any XDF reader shows them.
    recording = xdfToRecording(await readXdf(xdfPath), xdfPath, options.stream !== undefined ? { stream: options.stream } : {});
  }
  await writeEdf(edfPath, recording, { overwrite: options.overwrite });
  return `${edfPath}: ${recording.info.channels.length} channels, ${recording.samples} samples at ${recording.info.sampleRate} Hz, ${recording.markers.length} annotations`;
}

/** A recorded session as a Recording: times relative to its first sample; generated cues added as markers. */
function sessionRecording(rec: RecordedSession): Recording {
  const s = rec.signal;
  const t0 = s.sampleCount > 0 ? s.timeStamps[0] : 0;
  const seen = new Set(rec.markers.map((m) => `${m.time}|${m.value}`));
  const markers: Marker[] = rec.markers.map((m) => ({ ...m, time: m.time - t0 }));
  for (const { message } of rec.messages) {
    if (message.type !== 'cue') continue;
    const time = Number(message.timestamp);
    const value = String(message.marker);
    if (!seen.has(`${time}|${value}`)) markers.push({ time: time - t0, value, duration: 0 });
  }
  markers.sort((a, b) => a.time - b.time);
  return {
    info: signalInfo(rec),
    data: rec.data,
    samples: s.sampleCount,
    markers,
    ...(rec.datetime && !Number.isNaN(Date.parse(rec.datetime)) ? { startDate: new Date(rec.datetime) } : {}),
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
