import { performance } from 'node:perf_hooks';
import { Observable } from 'rxjs';
import type { ChannelInfo, ChannelType, Chunk, Marker, StreamInfo } from '../../src/stream/types.js';
import { booleanParam, numberParam, type SourceUri } from '../source-uri.js';
import { fetchFullInfo, LslInlet, resolveOne, type InletEvent } from './inlet.js';
import { lslConfigFromEnv, type LslConfig } from './lsl-config.js';
import { propQuery, sessionQuery } from './resolver.js';
import type { SampleBatch } from './sample-codec.js';
import type { LslChannelDesc, LslStreamInfo } from './stream-info.js';
import { Dejitter } from '../../src/dsp/dejitter.js';
import { LossLog } from '../../src/stream/losses.js';

/**
 * `lsl:` source URIs:
 *   lsl:type=EEG            lsl:name=MyAmp            lsl:source_id=amp-42
 *   lsl:type='EEG' and channel_count>8                (any LSL/XPath predicate)
 * Parameters: timeout (seconds to wait for the stream, default 10), markers (a predicate for a
 * marker stream whose events are merged into the chunks by timestamp, e.g. markers=type=Markers),
 * dejitter (smooth the timestamps of a regular stream, default false), monotonize (timestamps
 * never decrease, liblsl's proc_monotonize: a stamp before the previous one is raised to it;
 * default false).
 * Chunk times are on this machine's LSL clock: the outlet's timestamps plus the estimated clock
 * correction, so a remote amplifier and a local marker stream line up. Without monotonize they are
 * the outlet's and may step back (see inlet.ts for what the inlet promises); `firstSample` always
 * strictly increases and skips the samples missed while the outlet was gone, which `losses` reports.
 */
export function lslQueryOf(target: string, sessionId?: string): string {
  const prop = /^([a-z_][a-z0-9_]*)=([^'"=<>]*)$/i.exec(target.trim());
  if (prop) return propQuery(prop[1], prop[2], sessionId);
  return sessionQuery(target, sessionId);
}

export interface LslSource {
  readonly info: StreamInfo;
  readonly lsl: LslStreamInfo;
  readonly chunks$: Observable<Chunk>;
  /** Outages, silences and the samples they cost, of the signal and the marker stream. */
  readonly losses: LossLog;
}

export async function openLslSource(uri: SourceUri, config: LslConfig = lslConfigFromEnv(), losses = new LossLog()): Promise<LslSource> {
  const timeout = numberParam(uri, 'timeout', 10);
  const dejitter = booleanParam(uri, 'dejitter', false);
  const monotonize = booleanParam(uri, 'monotonize', false);
  const found = await resolveOne(lslQueryOf(uri.target, config.sessionId), timeout, config);
  if (found.channelFormat === 'string') {
    throw new Error(`source "${uri.raw}": "${found.name}" is a string (marker) stream; give it as markers=... next to a signal stream`);
  }
  const full = await fetchFullInfo(found);
  const lsl = { ...full.info, v4address: found.v4address };
  const info = streamInfoOf(lsl, full.channels);
  const markerTarget = uri.params.get('markers');

  const chunks$ = new Observable<Chunk>((subscriber) => {
    const pendingMarkers: Marker[] = [];
    const smoother = dejitter && lsl.nominalSrate > 0 ? new Dejitter(lsl.nominalSrate) : undefined;
    let floor = -Infinity;
    // liblsl's postprocessing order: clock correction (in toChunk), dejitter, monotonize
    const postprocess = (timestamps: Float64Array, firstSample: number): void => {
      smoother?.apply(timestamps, firstSample);
      if (monotonize) floor = raiseTo(timestamps, floor);
    };
    const onSignal = (e: InletEvent): void => {
      if (e.kind !== 'samples') return;
      const chunk = toChunk(info, e.batch, e.timeCorrection, e.firstSample, postprocess);
      const last = chunk.timestamps![chunk.samples - 1];
      let take = 0;
      while (take < pendingMarkers.length && pendingMarkers[take].time <= last) take++;
      subscriber.next(take === 0 ? chunk : { ...chunk, markers: pendingMarkers.splice(0, take) });
    };
    const inlet = new LslInlet(lsl, onSignal, { config, losses });
    inlet.run().catch((err: Error) => subscriber.error(err));
    let markerInlet: LslInlet | undefined;
    let stopped = false;
    if (markerTarget) {
      void resolveOne(lslQueryOf(markerTarget, config.sessionId), timeout, config)
        .then((m) => {
          if (stopped) return;
          if (m.channelFormat !== 'string' && m.nominalSrate !== 0) {
            throw new Error(`source "${uri.raw}": markers stream "${m.name}" is ${m.channelFormat} at ${m.nominalSrate} Hz, expected a string or an irregular stream`);
          }
          markerInlet = new LslInlet(
            m,
            (e) => {
              if (e.kind !== 'samples') return;
              const b = e.batch;
              const per = b.values.length / b.count;
              for (let i = 0; i < b.count; i++) {
                const time = b.timestamps[i] + e.timeCorrection;
                const value = String(b.values[i * per]);
                // A marker no chunk can ever take (no time), or one beyond the bound, would wait forever.
                if (!Number.isFinite(time)) losses.warning(`LSL markers "${m.name}": marker "${value.slice(0, 40)}" has no finite timestamp (${time}); dropped`);
                else if (pendingMarkers.length >= MAX_PENDING_MARKERS)
                  losses.warning(`LSL markers "${m.name}": ${MAX_PENDING_MARKERS} markers wait for signal already; marker "${value.slice(0, 40)}" at ${time.toFixed(3)} s dropped`);
                else pendingMarkers.push({ time, value, duration: 0 });
              }
              pendingMarkers.sort((x, y) => x.time - y.time);
            },
            { config, losses },
          );
          return markerInlet.run();
        })
        .catch((err: Error) => subscriber.error(err));
    }
    return () => {
      stopped = true;
      inlet.close();
      markerInlet?.close();
    };
  });
  return { info, lsl, chunks$, losses };
}

/** Markers from a marker stream waiting for the signal to reach their time, at most (a signal outage must not let them pile up without end). */
const MAX_PENDING_MARKERS = 4096;

/** Raises every timestamp below the one before it (or `floor`) to it; returns the new floor. */
function raiseTo(timestamps: Float64Array, floor: number): number {
  for (let i = 0; i < timestamps.length; i++) {
    if (timestamps[i] < floor) timestamps[i] = floor;
    else floor = timestamps[i];
  }
  return floor;
}

function toChunk(info: StreamInfo, batch: SampleBatch, correction: number, firstSample: number, postprocess: (t: Float64Array, first: number) => void): Chunk {
  const n = batch.count;
  const values = batch.values;
  const data = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number | bigint>, Number);
  const timestamps = new Float64Array(n);
  for (let i = 0; i < n; i++) timestamps[i] = batch.timestamps[i] + correction;
  postprocess(timestamps, firstSample);
  return { info, data, samples: n, firstSample, time: timestamps[0], timestamps, markers: [], receivedAt: performance.now() };
}

const UNIT_ALIASES: Record<string, string> = { microvolts: 'uV', microvolt: 'uV', uv: 'uV', µv: 'uV', millivolts: 'mV', volts: 'V' };
const TYPES: Record<string, ChannelType> = { eeg: 'eeg', meg: 'meg', eog: 'eog', emg: 'emg', ecg: 'ecg', stim: 'stim', trigger: 'stim', resp: 'resp', mag: 'mag', grad: 'grad' };

export function streamInfoOf(lsl: LslStreamInfo, described: readonly LslChannelDesc[]): StreamInfo {
  const fallbackType = TYPES[lsl.type.toLowerCase()] ?? 'misc';
  const channels: ChannelInfo[] = Array.from({ length: lsl.channelCount }, (_, c) => {
    const d = described[c];
    const unit = d?.unit ? (UNIT_ALIASES[d.unit.toLowerCase()] ?? d.unit) : fallbackType === 'eeg' ? 'uV' : '';
    return { label: d?.label || `Ch${c + 1}`, type: (d?.type && TYPES[d.type.toLowerCase()]) || fallbackType, unit };
  });
  return { name: lsl.name, type: lsl.type, sourceId: lsl.sourceId || lsl.uid, channels, sampleRate: lsl.nominalSrate };
}
