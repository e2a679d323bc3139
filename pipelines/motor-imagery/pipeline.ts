import { concat, defer, filter, ignoreElements, map, merge, Observable, of, scan, share, switchMap, take, type OperatorFunction } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { slidingWindows, type Window } from '../../src/dsp/windows.js';
import type { Decision } from '../../src/stream/decision.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import type { Source } from '../../devices/open-source.js';
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
  | { kind: 'decision'; decision: Decision };

/** Classifies each sliding window of a preprocessed stream. */
export function classifyWindows(model: MotorImageryModel, window: MotorImagerySettings['window']): OperatorFunction<Chunk, Decision> {
  const classes = model.classes;
  let seq = 0;
  return (source) =>
    source.pipe(
      // Features are computed synchronously from each window, so a view of the ring suffices.
      slidingWindows({ ...window, view: true }),
      map((w: Window): Decision => {
        const p = model.probabilities(w);
        let best = 0;
        const probabilities: Record<string, number> = {};
        for (let k = 0; k < classes.length; k++) {
          probabilities[classes[k]] = p[k];
          if (p[k] > p[best]) best = k;
        }
        return { seq: seq++, label: classes[best], probabilities, timestamp: w.endTime, latencyMs: performance.now() - w.receivedAt };
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
 * of the live stream), then classify sliding windows of the live stream.
 */
export function motorImageryPipeline(source: Source, settings: MotorImagerySettings): Observable<PipelineEvent> {
  const cal = settings.calibration;
  const train = (epochs: Epoch[], channels: string[], rate: number): MotorImageryModel =>
    trainModel(epochs, channels, rate, settings, { csp: settings.csp, lda: settings.lda });

  const online = (model: MotorImageryModel, live$: Observable<Chunk>): Observable<PipelineEvent> => {
    assertModelFits(model, source.info);
    return concat(
      of<PipelineEvent>({
        kind: 'status',
        state: 'running',
        detail: `classifying ${model.classes.join(' vs ')} on ${model.file.channels.length} channels`,
        calibrationAccuracy: model.file.calibrationAccuracy,
        classes: model.classes,
      }),
      live$.pipe(
        classifyWindows(model, settings.window),
        map((decision): PipelineEvent => ({ kind: 'decision', decision })),
      ),
      of<PipelineEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
    );
  };

  if (cal.from === 'model' || cal.from === 'recording') {
    return defer(async () => {
      if (cal.from === 'model') return MotorImageryModel.load(cal.path);
      const rec = await loadRecording(cal.source);
      const channels = resolveChannels(rec.info, settings.channels);
      const model = train(await epochsFromRecording(rec, channels, settings), channels, rec.info.sampleRate);
      if (settings.saveModel) await model.save(settings.saveModel);
      return model;
    }).pipe(
      switchMap((model) => {
        const live$ = source.chunks$.pipe(preprocess(model.file.channels, model.file.preprocessing));
        return concat(
          of<PipelineEvent>({ kind: 'status', state: 'calibrating', detail: `model ready (${cal.from})`, calibrationAccuracy: model.file.calibrationAccuracy }),
          online(model, live$),
        );
      }),
    );
  }

  // Calibration from the live stream: collect the first N cued trials of each class, then train
  // and switch to classification on the same (shared) preprocessed stream.
  return defer(() => {
    const channels = resolveChannels(source.info, settings.channels);
    const pre$ = source.chunks$.pipe(preprocess(channels, preprocessingOf(settings)), share());
    const classes = [...new Set(Object.values(settings.events))].sort();
    const wanted = cal.trialsPerClass;
    const collected$ = pre$.pipe(
      markerEpochs({ events: settings.events, tmin: settings.epoch.tmin, tmax: settings.epoch.tmax }),
      scan((acc: Epoch[], e: Epoch) => (acc.filter((x) => x.label === e.label).length < wanted ? [...acc, e] : acc), []),
      share(),
    );
    const counts = (epochs: Epoch[]): Record<string, number> =>
      Object.fromEntries(classes.map((c) => [c, epochs.filter((e) => e.label === c).length]));
    const done = (epochs: Epoch[]): boolean => classes.every((c) => epochs.filter((e) => e.label === c).length >= wanted);
    const progress$ = collected$.pipe(
      map((epochs): PipelineEvent => ({ kind: 'status', state: 'calibrating', detail: `collecting ${wanted} trials per class`, trials: counts(epochs) })),
    );
    const trained$ = collected$.pipe(
      filter(done),
      take(1),
      // Train synchronously and subscribe the online stage at once, so the shared preprocessed
      // stream never loses its last subscriber (which would restart the source).
      switchMap((epochs) => {
        const model = train(epochs, channels, source.info.sampleRate);
        return merge(defer(() => saveIfAsked(model)).pipe(ignoreElements()), online(model, pre$));
      }),
    );
    return concat(
      of<PipelineEvent>({ kind: 'status', state: 'calibrating', detail: `collecting ${wanted} trials per class`, trials: counts([]) }),
      new Observable<PipelineEvent>((sub) => {
        const a = trained$.subscribe(sub);
        const b = progress$.pipe(take(classes.length * wanted)).subscribe((e) => sub.next(e));
        return () => {
          a.unsubscribe();
          b.unsubscribe();
        };
      }),
    );
  });

  async function saveIfAsked(model: MotorImageryModel): Promise<MotorImageryModel> {
    if (settings.saveModel) await model.save(settings.saveModel);
    return model;
  }
}
