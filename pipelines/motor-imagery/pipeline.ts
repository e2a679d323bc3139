import { concat, defer, EMPTY, exhaustMap, filter, from, identity, ignoreElements, map, merge, mergeMap, Observable, of, scan, share, switchMap, take, type OperatorFunction } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { controlDecisions, type ControlledDecision } from '../../src/control/controlled-decisions.js';
import { argmax } from '../../src/ml/softmax.js';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { slidingWindows, type Window } from '../../src/dsp/windows.js';
import { cueSchedule, withGeneratedCues } from '../../src/stream/cue-generator.js';
import type { Decision } from '../../src/stream/decision.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import type { Source } from '../../devices/open-source.js';
import { fromSample, reportStages, type PipelineHooks } from '../../src/stream/pipeline-hooks.js';
import { loadRecording } from '../../devices/open-source.js';
import { epochsFromRecording, preprocessingOf, resolveChannels, trainModel } from './calibrate.js';
import { MotorImageryModel } from './model.js';
import { preprocess } from './preprocess.js';
import type { MotorImagerySettings } from './settings.js';

export type SessionState = 'calibrating' | 'running' | 'stopped';

export type PipelineEvent =
  | {
      kind: 'status';
      state: SessionState;
      detail: string;
      /** Trials collected so far per class, while calibrating from the stream. */
      trials?: Readonly<Record<string, number>>;
      calibrationAccuracy?: number | null;
      /** The decoder's classes, once it is trained. */
      classes?: readonly string[];
    }
  /** A cue marker seen in the stream: what the user is asked to imagine, from `time` on. */
  | { kind: 'cue'; label: string; marker: string; time: number }
  | { kind: 'decision'; decision: Decision | ControlledDecision };

/** Markers from outside the signal (a game's cues over WebSocket) join the source before the pipeline (see run-session). */
export type PipelineOptions = PipelineHooks;

/** Classifies each sliding window of a preprocessed stream with the current model. */
export function classifyWindows(model: MotorImageryModel | (() => MotorImageryModel), window: MotorImagerySettings['window']): OperatorFunction<Chunk, Decision> {
  const current = typeof model === 'function' ? model : () => model;
  let seq = 0;
  return (source) =>
    source.pipe(
      // Features are computed synchronously from each window, so a view of the ring suffices.
      slidingWindows({ ...window, view: true }),
      map((w: Window): Decision => {
        const m = current();
        const classes = m.classes;
        const p = m.probabilities(w);
        const probabilities: Record<string, number> = {};
        for (let k = 0; k < classes.length; k++) probabilities[classes[k]] = p[k];
        return { seq: seq++, label: classes[argmax(p)], probabilities, timestamp: w.endTime, latencyMs: performance.now() - w.receivedAt };
      }),
    );
}

/** Throws unless the stream carries the model's channels at the model's rate. */
export function assertModelFits(model: MotorImageryModel, info: StreamInfo): void {
  if (info.sampleRate !== model.file.sampleRate) {
    throw new Error(`model was trained at ${model.file.sampleRate} Hz but stream "${info.name}" runs at ${info.sampleRate} Hz`);
  }
}

/**
 * The motor-imagery session: calibrate (from a recording, a saved model, or the first cued trials
 * of the live stream, cued by the stream, a game over WebSocket or neurorx's own generator), then
 * classify sliding windows of the live stream, optionally retraining as labelled trials arrive,
 * and, with `control` set, turn decisions into commands (smoothing, threshold, dwell, refractory).
 */
export function motorImageryPipeline(source: Source, settings: MotorImagerySettings, opts: PipelineOptions = {}): Observable<PipelineEvent> {
  const cal = settings.calibration;
  const classes = [...new Set(Object.values(settings.events))].sort();
  let chunks$ = source.chunks$.pipe(reportStages(opts.onStart, 'input'));
  if (cal.from === 'stream' && cal.cues === 'generator') {
    // The generated cue markers carry the keys of `events`, so epoching treats them as any cue.
    chunks$ = withGeneratedCues(chunks$, cueSchedule(Object.keys(settings.events), cal.trialsPerClass, cal.generator));
  }
  const train = (epochs: readonly Epoch[], channels: readonly string[], rate: number): Promise<MotorImageryModel> => trainModel(epochs, channels, rate, settings);
  const epochsOf = markerEpochs({ events: settings.events, tmin: settings.epoch.tmin, tmax: settings.epoch.tmax });
  const control: OperatorFunction<Decision, Decision | ControlledDecision> = settings.control ? controlDecisions(settings.control) : identity;

  const cues = (pre$: Observable<Chunk>): Observable<PipelineEvent> =>
    pre$.pipe(
      mergeMap((chunk) => from(chunk.markers.filter((m) => m.value in settings.events))),
      map((m): PipelineEvent => ({ kind: 'cue', label: settings.events[m.value], marker: m.value, time: m.time })),
    );

  const online = (first: MotorImageryModel, pre$: Observable<Chunk>, pool: readonly Epoch[]): Observable<PipelineEvent> => {
    assertModelFits(first, source.info);
    let model = first;
    const retrainEvery = cal.from === 'stream' ? cal.retrainEvery : null;
    // Supervised re-training: every `retrainEvery` new cued trials, refit on all of them and swap.
    const retrain$: Observable<PipelineEvent> = retrainEvery
      ? pre$.pipe(
          epochsOf,
          scan((acc: Epoch[], e: Epoch) => [...acc, e], [...pool]),
          filter((all) => (all.length - pool.length) % retrainEvery === 0),
          // A retraining still running when the next one is due lets that one pass (slow decoders).
          exhaustMap((all) => from(train(all, first.file.channels, source.info.sampleRate)).pipe(map((m) => ({ m, n: all.length })))),
          map(({ m, n }): PipelineEvent => {
            model.decoder.dispose?.();
            model = m;
            opts.onModel?.(() => m.toJSON());
            return { kind: 'status', state: 'running', detail: `retrained on ${n} trials`, calibrationAccuracy: m.file.calibrationAccuracy, classes: m.classes };
          }),
        )
      : EMPTY;
    opts.onModel?.(() => first.toJSON());
    return concat(
      of<PipelineEvent>({
        kind: 'status',
        state: 'running',
        detail: `classifying ${first.classes.join(' vs ')} with ${first.decoder.kind} on ${first.file.channels.length} channels`,
        calibrationAccuracy: first.file.calibrationAccuracy,
        classes: first.classes,
      }),
      merge(
        pre$.pipe(
          fromSample(opts.decodeFrom),
          reportStages(opts.onStart, 'decode'),
          classifyWindows(() => model, settings.window),
          control,
          map((decision): PipelineEvent => ({ kind: 'decision', decision })),
        ),
        retrain$,
      ),
      of<PipelineEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
    );
  };

  if (cal.from === 'model' || cal.from === 'recording') {
    return defer(async () => {
      if (cal.from === 'model') return MotorImageryModel.load(cal.path);
      const rec = await loadRecording(cal.source);
      const channels = resolveChannels(rec.info, settings.channels);
      const model = await train(await epochsFromRecording(rec, channels, { ...preprocessingOf(settings), ...settings }), channels, rec.info.sampleRate);
      if (settings.saveModel) await model.save(settings.saveModel);
      return model;
    }).pipe(
      switchMap((model) => {
        const pre$ = chunks$.pipe(preprocess(model.file.channels, model.file.preprocessing), share());
        return concat(
          of<PipelineEvent>({ kind: 'status', state: 'calibrating', detail: `model ready (${cal.from})`, calibrationAccuracy: model.file.calibrationAccuracy }),
          merge(online(model, pre$, []), cues(pre$)),
        );
      }),
    );
  }

  // Calibration from the live stream: collect the first N cued trials of each class, then train
  // and switch to classification on the same (shared) preprocessed stream.
  return defer(() => {
    const channels = resolveChannels(source.info, settings.channels);
    const pre$ = chunks$.pipe(preprocess(channels, preprocessingOf(settings)), share());
    const wanted = cal.trialsPerClass;
    const collected$ = pre$.pipe(
      epochsOf,
      scan((acc: Epoch[], e: Epoch) => (acc.filter((x) => x.label === e.label).length < wanted ? [...acc, e] : acc), []),
      share(),
    );
    const counts = (epochs: Epoch[]): Record<string, number> => Object.fromEntries(classes.map((c) => [c, epochs.filter((e) => e.label === c).length]));
    const done = (epochs: Epoch[]): boolean => classes.every((c) => epochs.filter((e) => e.label === c).length >= wanted);
    const detail = `collecting ${wanted} trials per class${cal.cues === 'generator' ? ' (generated cues)' : ''}`;
    const progress$ = collected$.pipe(map((epochs): PipelineEvent => ({ kind: 'status', state: 'calibrating', detail, trials: counts(epochs) })));
    const trained$ = collected$.pipe(
      filter(done),
      take(1),
      // Chunks that arrive while the decoder trains are not classified (the anchor subscription
      // below keeps the source running meanwhile).
      switchMap((epochs) => from(train(epochs, channels, source.info.sampleRate)).pipe(map((model) => ({ model, epochs })))),
      switchMap(({ model, epochs }) => merge(defer(() => saveIfAsked(model)).pipe(ignoreElements()), online(model, pre$, epochs))),
    );
    return concat(
      of<PipelineEvent>({ kind: 'status', state: 'calibrating', detail, trials: counts([]) }),
      new Observable<PipelineEvent>((sub) => {
        // Holds the shared preprocessed stream open from start to end, through training, so it
        // never loses its last subscriber (which would restart the source).
        const anchor = pre$.subscribe({ error: (e: unknown) => sub.error(e) });
        const a = trained$.subscribe(sub);
        const b = progress$.pipe(take(classes.length * wanted)).subscribe((e) => sub.next(e));
        const c = cues(pre$).subscribe((e) => sub.next(e));
        return () => {
          anchor.unsubscribe();
          a.unsubscribe();
          b.unsubscribe();
          c.unsubscribe();
        };
      }),
    );
  });

  async function saveIfAsked(model: MotorImageryModel): Promise<MotorImageryModel> {
    if (settings.saveModel) await model.save(settings.saveModel);
    return model;
  }
}
