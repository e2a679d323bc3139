import { openSource } from '../../devices/open-source.js';
import { exportEdfBeside } from '../session/record-session.js';
import { SessionRecorder } from '../session/session-recorder.js';
import { sliceChunk } from '../stream/chunk.js';

export interface RecordOptions {
  /** Stream seconds to record; undefined = until the source ends or the process is stopped. */
  seconds?: number;
  speed: number | 'max';
  chunk: number;
  flushIntervalMs: number;
  edf: boolean;
  overwrite: boolean;
  log: (line: string) => void;
}

/**
 * `neurorx record`: writes a source's signal and markers to XDF as they arrive (with a session
 * stream naming the source), for `seconds` of stream or until SIGINT/SIGTERM or the source's end.
 * Resolves with the number of samples written; a source error ends the recording with what was
 * received so far, then rejects.
 */
export async function recordSource(uri: string, out: string, o: RecordOptions): Promise<{ samples: number; seconds: number }> {
  const source = await openSource(uri, { speed: o.speed, chunkSize: o.chunk });
  const rate = source.info.sampleRate;
  const target = o.seconds !== undefined ? Math.round(o.seconds * rate) : Infinity;
  if (!(target > 0)) throw new Error(`--seconds must be positive, got ${o.seconds}`);
  const recorder = new SessionRecorder(out, source.info, { source: uri, flushIntervalMs: o.flushIntervalMs, overwrite: o.overwrite, onError: (e) => o.log(`recording: ${e.message}`) });
  o.log(`recording ${source.info.name} (${source.info.channels.length} ch @ ${rate} Hz) from ${uri} to ${out}${o.seconds !== undefined ? ` for ${o.seconds} s` : ' until stopped'}`);
  let failure: Error | undefined;
  await new Promise<void>((resolve) => {
    const sub = source.chunks$.subscribe({
      next(chunk) {
        const left = target - recorder.sampleCount;
        recorder.signal(chunk.samples > left ? sliceChunk(chunk, 0, left) : chunk);
        if (recorder.sampleCount >= target || recorder.failure) {
          sub?.unsubscribe();
          resolve();
        }
      },
      error(e: Error) {
        failure = e;
        resolve();
      },
      complete: () => resolve(),
    });
    const stop = (): void => {
      sub.unsubscribe();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  recorder.close();
  const seconds = recorder.sampleCount / rate;
  o.log(`recorded ${recorder.sampleCount} samples (${seconds.toFixed(2)} s) to ${out}`);
  if (recorder.failure) throw new Error(`recording to ${out} failed after ${recorder.sampleCount} samples (kept): ${recorder.failure.message}`);
  if (o.edf) o.log(`exported ${await exportEdfBeside(out, o.overwrite)}`);
  if (failure) throw new Error(`source failed after ${recorder.sampleCount} samples (kept in ${out}): ${failure.message}`);
  return { samples: recorder.sampleCount, seconds };
}
