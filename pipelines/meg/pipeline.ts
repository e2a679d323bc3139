import { concat, defer, map, Observable, of, switchMap, tap } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Source } from '../../devices/open-source.js';
import { reportStages, type PipelineHooks } from '../../src/stream/pipeline-hooks.js';
import { synthesizeMegDataset } from '../../devices/synthetic/meg-images.js';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { EpochFeatures } from '../../src/retrieval/epoch-features.js';
import { topK, type Match } from '../../src/retrieval/top-k.js';
import { fitMegDecoder } from './meg-decoder.js';
import { MegImageModel } from './model.js';
import type { MegImageSettings } from './settings.js';

/** The best gallery images for one image-locked epoch. */
export interface Retrieval {
  readonly seq: number;
  /** Stream time of the image onset. */
  readonly timestamp: number;
  readonly latencyMs: number;
  /** The image the onset marker named (known in replays and simulations). */
  readonly shown: string;
  readonly topK: readonly Match[];
}

export type MegEvent = { kind: 'status'; state: 'calibrating' | 'running' | 'stopped'; detail: string } | { kind: 'retrieval'; retrieval: Retrieval };

/** Trains (on a synthetic study of the same world as `synthetic:meg`) or loads the model. */
export async function megModelFor(settings: MegImageSettings, channelsWanted: number, rate: number, log: (line: string) => void = () => {}): Promise<MegImageModel> {
  const cal = settings.calibration;
  if (cal.from === 'model') return MegImageModel.load(cal.path);
  const syn = synthesizeMegDataset({
    seed: cal.seed,
    images: cal.images,
    channels: channelsWanted,
    sampleRate: rate,
    subjects: 1,
    testRepetitions: 1,
    ceiling: false,
    tmin: settings.epoch.tmin,
    tmax: settings.epoch.tmax,
  });
  const epochs = syn.dataset.subjects[0].epochs;
  const C = syn.dataset.channels.length;
  const features = EpochFeatures.fit(epochs, C, rate, settings.features);
  const D = syn.gallery.dim;
  const Y = new Float32Array(epochs.length * D);
  epochs.forEach((e, i) => Y.set(syn.gallery.embeddingOf(e.imageId), i * D));
  const decoder = await fitMegDecoder(settings.decoder, {
    X: features.transformAll(epochs),
    n: epochs.length,
    T: features.bins,
    C,
    Y,
    D,
    groups: epochs.map((e) => e.imageId),
    positions: syn.dataset.positions,
  });
  log(`${settings.decoder.kind} trained on ${epochs.length} simulated image epochs (${C} channels at ${rate} Hz)`);
  const model = new MegImageModel(
    rate,
    syn.dataset.channels.map((c) => c.label),
    { ...settings.epoch },
    features,
    decoder,
    syn.gallery,
  );
  if (settings.saveModel) await model.save(settings.saveModel);
  return model;
}

/** Decodes every image-onset epoch of the live stream into the top-k gallery images. */
export function megImagePipeline(
  source: Source,
  settings: MegImageSettings,
  opts: Omit<PipelineHooks, 'decodeFrom'> & { log?: (line: string) => void; model?: Promise<MegImageModel> } = {},
): Observable<MegEvent> {
  const info = source.info;
  return concat(
    of<MegEvent>({
      kind: 'status',
      state: 'calibrating',
      detail: settings.calibration.from === 'model' ? `loading ${settings.calibration.path}` : `training ${settings.decoder.kind} on simulated MEG`,
    }),
    defer(() => opts.model ?? megModelFor(settings, info.channels.length, info.sampleRate, opts.log)).pipe(
      switchMap((model) => {
        if (model.sampleRate !== info.sampleRate || model.channels.length !== info.channels.length) {
          throw new Error(`the MEG model expects ${model.channels.length} channels at ${model.sampleRate} Hz; "${info.name}" has ${info.channels.length} at ${info.sampleRate} Hz`);
        }
        const prefix = settings.imageMarker;
        // Epochs as the model's features were fitted on (a loaded model brings its own window).
        const { tmin, tmax } = model.epoch;
        const onset = Math.round(-tmin * info.sampleRate);
        const query = new Float32Array(model.features.size);
        let seq = 0;
        let lastReceived = 0;
        opts.onModel?.(() => model.toJSON());
        return concat(
          of<MegEvent>({ kind: 'status', state: 'running', detail: `retrieving the top ${settings.topK} of ${model.gallery.size} images with ${model.decoder.kind}` }),
          source.chunks$.pipe(
            reportStages(opts.onStart, 'input', 'decode'),
            // An epoch is emitted while the chunk that completes it is processed: its latency runs
            // from that chunk's arrival.
            tap((c) => (lastReceived = c.receivedAt)),
            markerEpochs({ events: (v) => (v.startsWith(prefix) ? v.slice(prefix.length) : undefined), tmin, tmax }),
            map((epoch: Epoch): MegEvent => {
              model.features.transform({ data: epoch.data, samples: epoch.samples, onset }, query);
              const matches = topK(model.decoder.embed(query, 1), model.gallery, settings.topK);
              return { kind: 'retrieval', retrieval: { seq: seq++, timestamp: epoch.marker.time, latencyMs: performance.now() - lastReceived, shown: epoch.label, topK: matches } };
            }),
          ),
          of<MegEvent>({ kind: 'status', state: 'stopped', detail: 'source ended' }),
        );
      }),
    ),
  );
}
