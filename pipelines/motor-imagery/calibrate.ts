import { from, toArray, firstValueFrom } from 'rxjs';
import { performance } from 'node:perf_hooks';
import { markerEpochs, type Epoch } from '../../src/dsp/epochs.js';
import { accuracy, stratifiedShuffleSplits } from '../../src/ml/cross-validation.js';
import { predictLabel } from '../../src/ml/decoders/decoder.js';
import type { DecoderSpec } from '../../src/ml/decoders/decoder-spec.js';
import { fitDecoder } from '../../src/ml/decoders/registry.js';
import type { Recording } from '../../src/stream/recording.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { MODEL_FORMAT, MODEL_VERSION, MotorImageryModel } from './model.js';
import { preprocess, preprocessingFor, type Preprocessing } from './preprocess.js';
import type { MotorImagerySettings } from './settings.js';

/** The whole recording as one chunk (for offline processing through the streaming operators). */
export function recordingChunk(rec: Recording): Chunk {
  return { info: rec.info, data: rec.data, samples: rec.samples, firstSample: 0, time: 0, markers: rec.markers, receivedAt: performance.now() };
}

/** The channels a pipeline uses: the configured ones, or every EEG channel of the stream. */
export function resolveChannels(info: StreamInfo, configured: readonly string[] | undefined): string[] {
  if (configured && configured.length > 0) return [...configured];
  const eeg = info.channels.filter((c) => c.type === 'eeg').map((c) => c.label);
  if (eeg.length < 2) throw new Error(`stream "${info.name}" has ${eeg.length} EEG channel(s); motor imagery needs at least 2 (set "channels")`);
  return eeg;
}

/** The preprocessing of a motor-imagery configuration (with its decoder's filter bank, if any). */
export function preprocessingOf(s: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass' | 'decoder'>): Preprocessing {
  return preprocessingFor(s.decoder, { reference: s.reference, notch: s.notch, bandpass: s.bandpass });
}

export interface EpochSettings {
  events: Readonly<Record<string, string>>;
  epoch: { tmin: number; tmax: number };
}

/** Preprocesses a recording (filters start from rest at its first sample) and cuts the cued epochs. */
export async function epochsFromRecording(rec: Recording, channels: readonly string[], settings: Preprocessing & EpochSettings): Promise<Epoch[]> {
  return firstValueFrom(from([recordingChunk(rec)]).pipe(preprocess(channels, settings), markerEpochs({ events: settings.events, tmin: settings.epoch.tmin, tmax: settings.epoch.tmax }), toArray()));
}

export interface TrainOptions {
  /** Splits used to estimate the accuracy reported with the model (0: none; EEGNet: always none). */
  validationSplits?: number;
  seed?: number;
}

/** Trains a model on calibration epochs, with a quick cross-validated accuracy estimate. */
export async function trainModel(
  epochs: readonly Epoch[],
  channels: readonly string[],
  sampleRate: number,
  settings: Pick<MotorImagerySettings, 'reference' | 'notch' | 'bandpass' | 'epoch' | 'decoder'>,
  opts: TrainOptions = {},
): Promise<MotorImageryModel> {
  if (epochs.length === 0) throw new Error('calibration: no cued trials found (check "events" against the markers of the source)');
  const width = epochs[0].info.channels.length;
  const labels = epochs.map((e) => e.label);
  const spec: DecoderSpec = settings.decoder;
  const decoder = await fitDecoder(spec, epochs, labels, width, { sampleRate });
  let calibrationAccuracy: number | null = null;
  const splits = spec.kind === 'eegnet' ? 0 : (opts.validationSplits ?? 5);
  if (splits > 0 && Math.min(...countBy(labels).values()) >= 5) {
    const scores: number[] = [];
    for (const { train, test } of stratifiedShuffleSplits(labels, splits, 0.2, opts.seed ?? 42)) {
      const d = await fitDecoder(
        spec,
        train.map((i) => epochs[i]),
        train.map((i) => labels[i]),
        width,
        { sampleRate },
      );
      scores.push(
        accuracy(
          test.map((i) => labels[i]),
          test.map((i) => predictLabel(d, epochs[i])),
        ),
      );
    }
    calibrationAccuracy = scores.reduce((a, b) => a + b, 0) / scores.length;
  }
  return new MotorImageryModel(
    {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      sampleRate,
      channels: [...channels],
      preprocessing: preprocessingOf(settings),
      epoch: settings.epoch,
      calibrationAccuracy,
      trials: Object.fromEntries(countBy(labels)),
    },
    decoder,
  );
}

function countBy(labels: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of labels) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}
