import type { Observable } from 'rxjs';
import type { Recording } from '../../src/stream/recording.js';
import type { Chunk, Marker } from '../../src/stream/types.js';
import { pacedChunks, type Pace, type Produced } from '../paced-source.js';

export interface ReplayOptions extends Pace {
  /** Start again from the beginning at the end; sample indices and times keep increasing. */
  loop: boolean;
}

export const DEFAULT_REPLAY: ReplayOptions = { speed: 1, chunkSize: 16, loop: false };

/**
 * Replays a recording as a live stream (real time, faster, or as fast as possible). Markers travel
 * inside the chunk whose span holds them; chunk data is a view into the recording (no copy).
 * When looping, each pass is shifted by the recording's duration so time never goes back.
 */
export function replayRecording(rec: Recording, options: Partial<ReplayOptions> = {}): Observable<Chunk> {
  const opts = { ...DEFAULT_REPLAY, ...options };
  if (rec.samples === 0) throw new Error(`recording "${rec.info.name}" has no samples`);
  const rate = rec.info.sampleRate;
  const nCh = rec.info.channels.length;
  const duration = rec.samples / rate;
  return pacedChunks(
    rec.info,
    (first, max): Produced | undefined => {
      const pass = Math.floor(first / rec.samples);
      if (pass > 0 && !opts.loop) return undefined;
      const offset = first - pass * rec.samples;
      const n = Math.min(max, rec.samples - offset);
      const shift = pass * duration;
      return {
        data: rec.data.subarray(offset * nCh, (offset + n) * nCh),
        samples: n,
        time: shift + offset / rate,
        markers: markersInSpan(rec.markers, offset / rate, (offset + n) / rate, shift),
      };
    },
    opts,
  );
}

/** Index of the first marker (of markers in time order) at or after time `t`. */
export function firstMarkerFrom(markers: readonly Marker[], t: number): number {
  let lo = 0;
  let hi = markers.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (markers[mid].time < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Markers with time in [from, to) (recording time), shifted by `shift` seconds. */
function markersInSpan(markers: readonly Marker[], from: number, to: number, shift: number): Marker[] {
  const out: Marker[] = [];
  for (let i = firstMarkerFrom(markers, from); i < markers.length && markers[i].time < to; i++) {
    out.push(shift === 0 ? markers[i] : { ...markers[i], time: markers[i].time + shift });
  }
  return out;
}
