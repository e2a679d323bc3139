/**
 * EEGNet as the project's decoders use it: fit on labelled blocks (epochs), class probabilities
 * for a block, save to / load from a folder. Inference is the tfl.LayersModel's own predict (wasm
 * backend, or tfjs-node's when installed); training is the conv-free loop of eegnet-trainer.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { argmax } from '../softmax.js';
import { Random } from '../../util/random.js';
import { initTfjsBackend } from '../tfjs/backend.js';
import { EEGNET_DEFAULTS, buildEegNet } from './eegnet-model.js';
import { loadLayersModelFromDir, saveLayersModel } from './eegnet-io.js';
import { PaddedEpochs } from './padded-epochs.js';
import { trainEegNet, type TrainReport } from './eegnet-trainer.js';

/** Samples x channels, sample-major: data[s * channels + c]. */
export interface SignalBlock {
  readonly data: Float32Array;
  readonly samples: number;
}

export interface EegNetOptions {
  /** Passes over the training set (300 as in the arl-eegmodels examples). */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  F1?: number;
  D?: number;
  F2?: number;
  /** Temporal kernel length: half the sample rate in the paper; default sampleRate / 2, else 64. */
  kernLength?: number;
  /** Used only to choose kernLength when it is not given. */
  sampleRate?: number;
  dropout?: number;
  seed?: number;
  /**
   * Fraction of each class held out to keep the epoch with the lowest validation loss (as the
   * reference training script's ModelCheckpoint); 0 (default) trains on everything for `epochs`.
   */
  validationFraction?: number;
  /**
   * Input multiplier. The project's signals are in microvolts (the EDF reader converts), which
   * suits EEGNet as is: its first layers are followed by batch normalisation, so only the size
   * relative to BatchNorm's epsilon (1e-3) matters, and microvolt-scale EEG is far above it.
   * Data in volts would want 1e6.
   */
  scale?: number;
  /** Progress after each training pass. */
  onEpoch?: (epoch: number, trainLoss: number, validationLoss: number | null) => void;
}

const METADATA = 'neurorx.json';
const FORMAT = 'neurorx-eegnet';

/** The small file saved beside model.json. */
interface Metadata {
  format: typeof FORMAT;
  version: 1;
  classes: string[];
  channels: number;
  samples: number;
  scale: number;
  training?: { epochs: number; seconds: number; backend: string; bestEpoch: number | null };
}

export class EegNetDecoder {
  /** Model input (channels-major), reused by every call. */
  private readonly input: Float32Array;
  private readonly inputShape: number[];
  private readonly probs: Float64Array;

  private constructor(
    private readonly model: tfl.LayersModel,
    readonly classes: readonly string[],
    readonly channels: number,
    readonly samples: number,
    readonly scale: number,
    /** How training went (null for a loaded model). */
    readonly training: TrainReport | null,
  ) {
    this.input = new Float32Array(channels * samples);
    this.inputShape = [1, ...(model.inputs[0].shape.slice(1) as number[])];
    if (this.inputShape.reduce((a, b) => a * b, 1) !== channels * samples) {
      throw new Error(`eegnet: model input ${JSON.stringify(model.inputs[0].shape)} does not hold ${channels} channels x ${samples} samples`);
    }
    const units = model.outputs[0].shape[1];
    if (units !== classes.length) throw new Error(`eegnet: model has ${units} outputs for ${classes.length} classes`);
    this.probs = new Float64Array(classes.length);
  }

  /** Trains EEGNet on labelled blocks (all of the same length). Deterministic for a given seed. */
  static async fit(blocks: readonly SignalBlock[], labels: readonly string[], channels: number, opts: EegNetOptions = {}): Promise<EegNetDecoder> {
    if (blocks.length === 0) throw new Error('eegnet: no training blocks');
    if (blocks.length !== labels.length) throw new Error(`eegnet: ${blocks.length} blocks but ${labels.length} labels`);
    if (!Number.isInteger(channels) || channels < 1) throw new Error(`eegnet: channels must be a positive integer, got ${channels}`);
    const samples = blocks[0].samples;
    blocks.forEach((b, i) => {
      if (b.samples !== samples) throw new Error(`eegnet: block ${i} has ${b.samples} samples, block 0 has ${samples}`);
      if (b.data.length !== samples * channels) throw new Error(`eegnet: block ${i} holds ${b.data.length} values, expected ${samples} x ${channels}`);
    });
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error(`eegnet: at least 2 classes are needed, got ${classes.join(', ') || 'none'}`);
    const seed = opts.seed ?? 42;
    const scale = opts.scale ?? 1;
    const kernLength = opts.kernLength ?? (opts.sampleRate ? Math.round(opts.sampleRate / 2) : 64);

    await initTfjsBackend();
    const data = new Float32Array(blocks.length * samples * channels);
    blocks.forEach((b, i) => data.set(b.data, i * samples * channels));
    const set = new PaddedEpochs(data, blocks.length, samples, channels, kernLength, scale);
    const index = new Map(classes.map((c, i) => [c, i]));
    const y = Int32Array.from(labels, (l) => index.get(l)!);
    const { train, validation } = holdOut(y, classes.length, opts.validationFraction ?? 0, seed);

    const model = buildEegNet({
      channels,
      samples,
      classes: classes.length,
      F1: opts.F1 ?? EEGNET_DEFAULTS.F1,
      D: opts.D ?? EEGNET_DEFAULTS.D,
      F2: opts.F2 ?? EEGNET_DEFAULTS.F2,
      kernLength,
      dropout: opts.dropout ?? EEGNET_DEFAULTS.dropout,
      normRate: EEGNET_DEFAULTS.normRate,
      seed,
    });
    try {
      const report = await trainEegNet(model, set, y, train, {
        epochs: opts.epochs ?? 300,
        batchSize: opts.batchSize ?? 16,
        learningRate: opts.learningRate ?? 1e-3,
        seed,
        validation,
        onEpoch: opts.onEpoch,
      });
      return new EegNetDecoder(model, classes, channels, samples, scale, report);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Class probabilities in `classes` order (written into `out` when given). Synchronous. */
  probabilities(block: SignalBlock, out?: Float64Array): Float64Array {
    const { channels: C, samples: T } = this;
    if (block.samples !== T) throw new Error(`eegnet: trained on ${T}-sample blocks, got ${block.samples}`);
    if (block.data.length !== T * C) throw new Error(`eegnet: block holds ${block.data.length} values, expected ${T} x ${C}`);
    const x = this.input;
    const d = block.data;
    const s = this.scale;
    // Sample-major in, channel-major (channels, samples, 1) for the model.
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) x[c * T + t] = d[t * C + c] * s;
    const p = tf.tidy(() => this.model.predict(tf.tensor(x, this.inputShape)) as tf.Tensor);
    const v = p.dataSync();
    p.dispose();
    const res = out ?? this.probs.slice();
    if (res.length !== v.length) throw new Error(`eegnet: output array has ${res.length} entries for ${v.length} classes`);
    for (let k = 0; k < v.length; k++) res[k] = v[k];
    return res;
  }

  predict(block: SignalBlock): string {
    return this.classes[argmax(this.probabilities(block, this.probs))];
  }

  /** model.json + weights.bin (TensorFlow.js Layers format) and neurorx.json in `dir`. */
  async save(dir: string): Promise<void> {
    await saveLayersModel(this.model, dir);
    const meta: Metadata = {
      format: FORMAT,
      version: 1,
      classes: [...this.classes],
      channels: this.channels,
      samples: this.samples,
      scale: this.scale,
      ...(this.training ? { training: { epochs: this.training.epochs, seconds: this.training.seconds, backend: this.training.backend, bestEpoch: this.training.bestEpoch } } : {}),
    };
    await fs.writeFile(path.join(dir, METADATA), JSON.stringify(meta, null, 2) + '\n');
  }

  /**
   * Loads a saved decoder. A folder without neurorx.json (e.g. a Keras EEGNet converted with
   * tensorflowjs_converter) loads when `fallback` names its classes (in output order).
   */
  static async load(dir: string, fallback?: { classes: readonly string[]; scale?: number }): Promise<EegNetDecoder> {
    await initTfjsBackend();
    const metaFile = path.join(dir, METADATA);
    let meta: Pick<Metadata, 'classes' | 'scale'> & Partial<Metadata>;
    try {
      meta = parseMetadata(JSON.parse(await fs.readFile(metaFile, 'utf8')), metaFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !fallback) throw e;
      meta = { classes: [...fallback.classes], scale: fallback.scale ?? 1 };
    }
    const model = await loadLayersModelFromDir(dir);
    try {
      const shape = model.inputs[0].shape;
      // (channels, samples, 1): the Keras EEGNet's channels_last input.
      const channels = meta.channels ?? (shape[1] as number);
      const samples = meta.samples ?? (shape[2] as number);
      return new EegNetDecoder(model, meta.classes, channels, samples, meta.scale, null);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** The underlying LayersModel (e.g. to fine-tune or inspect). */
  get layersModel(): tfl.LayersModel {
    return this.model;
  }

  dispose(): void {
    this.model.dispose();
  }
}

function parseMetadata(v: unknown, file: string): Metadata {
  const m = v as Partial<Metadata> | null;
  if (!m || m.format !== FORMAT) throw new Error(`${file}: not a ${FORMAT} file`);
  if (m.version !== 1) throw new Error(`${file}: version ${String(m.version)} is not supported`);
  if (!Array.isArray(m.classes) || m.classes.some((c) => typeof c !== 'string')) throw new Error(`${file}: "classes" must be a list of strings`);
  for (const k of ['channels', 'samples'] as const) {
    if (!Number.isInteger(m[k]) || (m[k] as number) < 1) throw new Error(`${file}: "${k}" must be a positive integer`);
  }
  if (typeof m.scale !== 'number' || !Number.isFinite(m.scale)) throw new Error(`${file}: "scale" must be a number`);
  return m as Metadata;
}

/** Stratified seeded hold-out: round(fraction * n_k) epochs of each class (none when fraction is 0). */
function holdOut(y: Int32Array, classes: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`eegnet: validationFraction must be in [0, 1), got ${fraction}`);
  const all = Array.from(y.keys());
  if (fraction === 0) return { train: all, validation: [] };
  const rng = new Random(seed ^ 0x5bd1e995);
  const train: number[] = [];
  const validation: number[] = [];
  for (let k = 0; k < classes; k++) {
    const idx = rng.shuffle(all.filter((i) => y[i] === k));
    const n = Math.min(idx.length - 1, Math.max(1, Math.round(fraction * idx.length)));
    validation.push(...idx.slice(0, n));
    train.push(...idx.slice(n));
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}
