import { performance } from 'node:perf_hooks';
import { openSource } from '../../devices/open-source.js';
import type { Gap, LossSummary } from '../stream/losses.js';
import type { ChannelInfo } from '../stream/types.js';

export interface ChannelSummary {
  label: string;
  type: ChannelInfo['type'];
  unit: string;
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface InspectReport {
  source: string;
  stream: { name: string; type: string; sourceId: string; sampleRate: number; channelCount: number };
  samples: number;
  chunks: number;
  seconds: number;
  /** Samples per wall-clock second while reading (paced sources), or null when read as fast as possible. */
  measuredRate: number | null;
  /** Samples missing between chunks (gaps in the sample counter). */
  dropped: number;
  markers: { count: number; values: Record<string, number> };
  channels: ChannelSummary[];
  /** Device counters (serial boards: packets, garbage bytes, drops with their places, reconnects). */
  device?: Record<string, unknown>;
  /** How the read ended: the seconds asked for arrived, the stream ended, or a live source missed its deadline. */
  ended: 'complete' | 'end-of-stream' | 'deadline';
  /** What the source skipped, repaired or could not read, and what the inspection itself noticed (a quiet device, a short file). */
  warnings: string[];
  /** Stretches of signal the source lost (LSL outages, lost serial packets, a truncated file). */
  gaps: Gap[];
  /** Totals over every gap and warning (the lists above keep the first ones). */
  losses: LossSummary['totals'] & { omitted: number };
}

/** A live source gets this long beyond the seconds asked for (connecting, handshakes) before inspect gives up waiting. */
export const LIVE_GRACE_SECONDS = 5;

/**
 * Reads `seconds` of stream time from a source and summarises it. Recordings are read as fast as
 * possible unless a pace is given in the URI; live sources at their own pace.
 */
export async function inspectSource(uri: string, seconds: number): Promise<InspectReport> {
  if (!(seconds > 0)) throw new Error(`--seconds must be positive, got ${seconds}`);
  const isRecording = uri.startsWith('file:') || /[?&]trials=/.test(uri);
  const source = await openSource(uri, isRecording ? { speed: 'max', chunkSize: 256 } : {});
  const info = source.info;
  const n = info.channels.length;
  const wanted = Math.max(1, Math.round(seconds * info.sampleRate));
  const sum = new Float64Array(n);
  const sumSq = new Float64Array(n);
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  const markerValues: Record<string, number> = {};
  let samples = 0;
  let chunks = 0;
  let dropped = 0;
  let expected = 0;
  let markerCount = 0;
  // The rate is measured from the first chunk's arrival (connecting and handshakes excluded).
  let t0 = 0;
  let firstChunkSamples = 0;
  let lastChunkAt = 0;
  const started = performance.now();
  const ended = await new Promise<InspectReport['ended']>((resolve, reject) => {
    // A live device that goes quiet must not hold inspect forever: it ends at its deadline with what it got.
    const deadline = isRecording
      ? undefined
      : setTimeout(
          () => {
            sub.unsubscribe();
            resolve('deadline');
          },
          Math.min(2 ** 31 - 1, (seconds + LIVE_GRACE_SECONDS) * 1000),
        );
    const finish = (how: InspectReport['ended']): void => {
      clearTimeout(deadline);
      resolve(how);
    };
    const sub = source.chunks$.subscribe({
      next(chunk) {
        if (chunks === 0) {
          t0 = performance.now();
          firstChunkSamples = chunk.samples;
        }
        chunks++;
        lastChunkAt = performance.now();
        if (chunk.firstSample > expected) dropped += chunk.firstSample - expected;
        expected = chunk.firstSample + chunk.samples;
        const take = Math.min(chunk.samples, wanted - samples);
        for (let s = 0; s < take; s++) {
          const o = s * n;
          for (let c = 0; c < n; c++) {
            const v = chunk.data[o + c];
            sum[c] += v;
            sumSq[c] += v * v;
            if (v < min[c]) min[c] = v;
            if (v > max[c]) max[c] = v;
          }
        }
        const tEnd = chunk.time + take / info.sampleRate;
        for (const m of chunk.markers) {
          if (m.time >= tEnd) continue;
          markerCount++;
          markerValues[m.value] = (markerValues[m.value] ?? 0) + 1;
        }
        samples += take;
        if (samples >= wanted) {
          sub.unsubscribe();
          finish('complete');
        }
      },
      error: (e: unknown) => {
        clearTimeout(deadline);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
      complete: () => finish('end-of-stream'),
    });
  });
  const elapsed = (performance.now() - t0) / 1000;
  const losses = source.losses.summary();
  const warnings = [...losses.warnings];
  const got = samples / info.sampleRate;
  if (ended === 'deadline') {
    const waited = (performance.now() - started) / 1000;
    warnings.push(
      chunks === 0
        ? `the source sent nothing in ${waited.toFixed(1)} s`
        : `the source went quiet: ${got.toFixed(2)} s of the ${seconds} s asked for arrived, the last ${((performance.now() - lastChunkAt) / 1000).toFixed(1)} s before the deadline (${waited.toFixed(1)} s) brought nothing`,
    );
  } else if (ended === 'end-of-stream' && samples < wanted) {
    warnings.push(`the stream ended after ${got.toFixed(2)} s of the ${seconds} s asked for`);
  }
  return {
    source: uri,
    stream: { name: info.name, type: info.type, sourceId: info.sourceId, sampleRate: info.sampleRate, channelCount: n },
    samples,
    chunks,
    seconds: samples / info.sampleRate,
    measuredRate: isRecording || elapsed <= 0 ? null : (samples - firstChunkSamples) / elapsed,
    dropped,
    markers: { count: markerCount, values: markerValues },
    channels: info.channels.map((ch, c) => {
      const mean = samples ? sum[c] / samples : NaN;
      return {
        label: ch.label,
        type: ch.type,
        unit: ch.unit,
        mean,
        std: samples ? Math.sqrt(Math.max(0, sumSq[c] / samples - mean * mean)) : NaN,
        min: min[c],
        max: max[c],
      };
    }),
    ...(source.stats ? { device: source.stats() } : {}),
    ended,
    warnings,
    gaps: losses.gaps,
    losses: { ...losses.totals, omitted: losses.omitted },
  };
}
