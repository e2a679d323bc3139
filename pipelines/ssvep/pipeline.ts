import { concat, defer, map, Observable, of, switchMap, tap, type OperatorFunction } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { loadRecording, type Source } from '../../devices/open-source.js';
import { markerEpochs } from '../../src/dsp/epochs.js';
import { secondsToSamples, slidingWindows } from '../../src/dsp/windows.js';
import { fromSample, reportStages, type PipelineHooks } from '../../src/stream/pipeline-hooks.js';
import type { Chunk } from '../../src/stream/types.js';
import { decide, type SsvepDecision } from './decide.js';
import { resolveChannels, ssvepFrontEnd } from './front-end.js';
import type { SsvepSettings } from './settings.js';
import { calibrateTrca, markerLabels, referenceScorer, trcaScorer, type WindowScorer } from './window-scorer.js';

export type SsvepEvent = { kind: 'status'; state: 'calibrating' | 'running' | 'stopped'; detail: string; classes?: readonly string[] } | { kind: 'decision'; decision: SsvepDecision };

/**
 * The SSVEP session: the causal front end (notch, band-pass or FBCCA's filter bank), then a
 * decision on every window, sliding (every hop) or locked to each target's stimulus marker, by
 * CCA or FBCCA against reference sinusoids (no training) or by TRCA calibrated on a recording.
 */
export function ssvepPipeline(source: Source, s: SsvepSettings, hooks: PipelineHooks = {}): Observable<SsvepEvent> {
  const rate = source.info.sampleRate;
  return defer(async () => {
    const channels = resolveChannels(source.info, s.channels);
    const samples = secondsToSamples(s.window.length, rate, 'window.length');
    if (s.decoder.kind !== 'trca') return { channels, scorer: referenceScorer(s, channels.length, samples, rate), detail: `${s.decoder.kind}, ${s.harmonics} harmonic(s)` };
    const rec = await loadRecording(s.decoder.calibration.source);
    if (rec.info.sampleRate !== rate) throw new Error(`ssvep: calibration recording runs at ${rec.info.sampleRate} Hz, the stream at ${rate} Hz`);
    const trca = await calibrateTrca(rec, channels, samples, s);
    return { channels, scorer: trcaScorer(trca, s), detail: `${s.decoder.ensemble ? 'ensemble ' : ''}TRCA calibrated on ${s.decoder.calibration.source}` };
  }).pipe(
    switchMap(({ channels, scorer, detail }) =>
      concat(
        of<SsvepEvent>({
          kind: 'status',
          state: 'running',
          detail: `SSVEP ${s.targets.map((t) => `${t.label} ${t.frequency} Hz`).join(', ')} on ${channels.join(', ')}: ${detail}`,
          classes: s.targets.map((t) => t.label),
        }),
        source.chunks$.pipe(
          reportStages(hooks.onStart, 'input'),
          ssvepFrontEnd(channels, s),
          fromSample(hooks.decodeFrom),
          reportStages(hooks.onStart, 'decode'),
          decisions(scorer, s, rate),
          map((decision): SsvepEvent => ({ kind: 'decision', decision })),
        ),
        of<SsvepEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
      ),
    ),
  );
}

/** A decision per sliding window, or per target marker on the window starting at it. */
export function decisions(scorer: WindowScorer, s: SsvepSettings, rate: number): OperatorFunction<Chunk, SsvepDecision> {
  const scores = new Float64Array(s.targets.length);
  const scratch = new Float64Array(s.targets.length);
  let seq = 0;
  if (s.window.align === 'sliding') {
    return (pre$) =>
      pre$.pipe(
        // Scored synchronously, so a view of the window ring suffices.
        slidingWindows({ length: s.window.length, hop: s.window.hop, view: true }),
        map((w) => decide(scorer.score(w.data, scores), s, { seq: seq++, timestamp: w.endTime, latencyMs: performance.now() - w.receivedAt }, scratch)),
      );
  }
  let receivedAt = 0;
  const tmax = (scorer.samples - 1) / rate;
  return (pre$) =>
    pre$.pipe(
      // Epochs are emitted while the chunk that completes them is handled: its arrival time is theirs.
      tap((c) => (receivedAt = c.receivedAt)),
      markerEpochs({ events: markerLabels(s), tmin: 0, tmax }),
      map((e) => decide(scorer.score(e.data, scores), s, { seq: seq++, timestamp: e.marker.time + tmax, latencyMs: performance.now() - receivedAt }, scratch)),
    );
}
