/**
 * EEGNet (src/ml/eegnet): the conv-free training graph against tfjs-layers' own model (inference
 * and training mode), a synthetic known-answer problem, save/load, and loading a Keras EEGNet in
 * the layout tensorflowjs_converter writes, checked against a plain-JS float64 forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/util/random.js';
import { initTfjsBackend } from '../src/ml/tfjs/backend.js';
import { buildEegNet, eegNetParts, type EegNetConfig } from '../src/ml/eegnet/eegnet-model.js';
import { EegNetGraph, reformulatedProbabilities } from '../src/ml/eegnet/eegnet-graph.js';
import { PaddedEpochs } from '../src/ml/eegnet/padded-epochs.js';
import { loadLayersModelFromDir } from '../src/ml/eegnet/eegnet-io.js';
import { EegNetDecoder, type SignalBlock } from '../src/ml/eegnet/eegnet-decoder.js';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'neurorx-eegnet-'));
  tmpDirs.push(d);
  return d;
}

beforeAll(async () => {
  await initTfjsBackend('wasm');
});
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function config(over: Partial<EegNetConfig>): EegNetConfig {
  return { channels: 8, samples: 128, classes: 2, F1: 8, D: 2, F2: 16, kernLength: 64, dropout: 0.5, normRate: 0.25, seed: 1, ...over };
}

/** Random non-trivial weights everywhere, BatchNorm moving statistics included. */
function randomizeWeights(model: tfl.LayersModel, rng: Random): void {
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, i) => {
      const name = layer.weights[i].originalName;
      const v = new Float32Array(w.size);
      for (let k = 0; k < v.length; k++) {
        if (name.endsWith('moving_variance')) v[k] = 0.05 + 2 * rng.uniform();
        else if (name.endsWith('gamma')) v[k] = 0.5 + rng.uniform();
        else v[k] = 0.5 * rng.normal();
      }
      return tf.tensor(v, w.shape);
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

function randomData(n: number, samples: number, channels: number, rng: Random, amplitude = 20): Float32Array {
  const d = new Float32Array(n * samples * channels);
  for (let i = 0; i < d.length; i++) d[i] = amplitude * rng.normal() + 3;
  return d;
}

/** Model input (n, channels, samples, 1) from sample-major epochs. */
function modelInput(data: Float32Array, n: number, samples: number, channels: number): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, samples, channels, 1]), [0, 2, 1, 3]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('conv-free EEGNet graph', () => {
  it.each([
    { channels: 8, samples: 128, kernLength: 64, classes: 2 },
    { channels: 64, samples: 481, kernLength: 80, classes: 2 },
    { channels: 5, samples: 161, kernLength: 80, classes: 3 },
  ])('equals model.predict in inference mode ($channels ch x $samples samples, kernel $kernLength)', ({ channels, samples, kernLength, classes }) => {
    const rng = new Random(7);
    const model = buildEegNet(config({ channels, samples, kernLength, classes }));
    randomizeWeights(model, rng);
    const n = 5;
    const data = randomData(n, samples, channels, rng);
    const set = new PaddedEpochs(data, n, samples, channels, kernLength);
    const idx = [0, 1, 2, 3, 4];
    // Logits (the dense layer's output) are compared, not only the softmax, which compresses.
    const logitsModel = tfl.model({ inputs: model.inputs, outputs: model.getLayer('dense').output });
    const x = modelInput(data, n, samples, channels);
    const expected = logitsModel.predict(x) as tf.Tensor;
    const graph = new EegNetGraph(model);
    const ours = tf.tidy(() => graph.logits(graph.batch(set, idx)).logits);
    const scale = Math.max(1, ...Array.from(expected.dataSync(), Math.abs));
    expect(maxAbsDiff(ours.dataSync(), expected.dataSync()) / scale).toBeLessThan(1e-4);
    const probs = model.predict(x) as tf.Tensor;
    expect(maxAbsDiff(reformulatedProbabilities(model, set, idx), probs.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, expected, ours, probs]);
    graph.dispose();
    model.dispose();
  });

  it('has the loss, gradients and moving averages of tfjs-layers in training mode', async () => {
    // tfjs-layers' own training graph needs conv gradient kernels: the cpu backend has them.
    await initTfjsBackend('cpu');
    try {
      const rng = new Random(11);
      const [channels, samples, kernLength, classes, n] = [4, 64, 16, 3, 6];
      const model = buildEegNet(config({ channels, samples, kernLength, classes, dropout: 0 }));
      randomizeWeights(model, rng);
      const data = randomData(n, samples, channels, rng);
      const labels = [0, 1, 2, 0, 1, 2];
      const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32');
      const graph = new EegNetGraph(model);
      const vars = graph.trainables();
      const p = graph.parts;
      const movingVars = [p.bn1, p.bn2, p.bn3].flatMap((b) => [b.movingMean, b.movingVariance]);
      const before = movingVars.map((v) => tf.clone(v));

      const x = modelInput(data, n, samples, channels);
      const ref = tf.variableGrads(() => {
        const probs = model.apply(x, { training: true }) as tf.Tensor;
        return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.log(probs)), 1))) as tf.Scalar;
      }, vars);
      const refMoving = movingVars.map((v) => tf.clone(v));
      movingVars.forEach((v, i) => v.assign(before[i]));

      const set = new PaddedEpochs(data, n, samples, channels, kernLength);
      const idx = [0, 1, 2, 3, 4, 5];
      const batch = graph.batch(set, idx);
      const { mean, cov } = set.batchPatchMoments(idx);
      let moments: Parameters<EegNetGraph['updateMovingAverages']>[0] = [];
      const ours = tf.variableGrads(() => {
        const out = graph.logits(batch, { patchMean: mean, patchCov: cov, mask1: null, mask2: null });
        moments = out.moments.map((m) => ({ ...m, mean: tf.keep(m.mean), variance: tf.keep(m.variance) }));
        return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(onehot, out.logits);
      }, vars);
      graph.updateMovingAverages(moments);

      expect(Math.abs(ours.value.dataSync()[0] - ref.value.dataSync()[0])).toBeLessThan(1e-5);
      for (const v of vars) {
        const a = ours.grads[v.name].dataSync();
        const b = ref.grads[v.name].dataSync();
        const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
        expect(maxAbsDiff(a, b) / scale, v.name).toBeLessThan(2e-3);
      }
      movingVars.forEach((v, i) => {
        const scale = Math.max(1, ...Array.from(refMoving[i].dataSync(), Math.abs));
        expect(maxAbsDiff(v.dataSync(), refMoving[i].dataSync()) / scale, v.name).toBeLessThan(1e-4);
      });
      tf.dispose([x, onehot, batch.windows, batch.windowsT, mean, cov, ...before, ...refMoving, ref.value, ours.value, ...Object.values(ref.grads), ...Object.values(ours.grads)]);
      tf.dispose(moments.flatMap((m) => [m.mean, m.variance]));
      graph.dispose();
      model.dispose();
    } finally {
      await initTfjsBackend('wasm');
    }
  });
});

/**
 * Two classes told apart only by where a 10 Hz rhythm is: channels 0-3 (class "left") or 4-7
 * ("right"), each with its own spatial weights and a random phase per trial, in white noise of
 * the same size, 8 channels, 128 samples at 128 Hz (amplitudes in microvolts).
 */
function synthetic(perClass: number, seed: number): { blocks: SignalBlock[]; labels: string[] } {
  const rng = new Random(seed);
  const [C, T, fs] = [8, 128, 128];
  const patterns: Record<string, number[]> = { left: [1, 0.8, 0.6, 0.9, 0, 0, 0, 0], right: [0, 0, 0, 0, 0.7, 1, 0.9, 0.6] };
  const blocks: SignalBlock[] = [];
  const labels: string[] = [];
  for (let i = 0; i < 2 * perClass; i++) {
    const label = i % 2 === 0 ? 'left' : 'right';
    const phase = 2 * Math.PI * rng.uniform();
    const amp = 8 + 4 * rng.uniform();
    const data = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      const s = amp * Math.sin((2 * Math.PI * 10 * t) / fs + phase);
      for (let c = 0; c < C; c++) data[t * C + c] = patterns[label][c] * s + 8 * rng.normal();
    }
    blocks.push({ data, samples: T });
    labels.push(label);
  }
  return { blocks, labels };
}

describe('EegNetDecoder', () => {
  const train = synthetic(30, 1);
  const test = synthetic(10, 2);
  let net: EegNetDecoder;

  beforeAll(async () => {
    net = await EegNetDecoder.fit(train.blocks, train.labels, 8, { epochs: 60, sampleRate: 128, seed: 3 });
  }, 60_000);
  afterAll(() => net?.dispose());

  it('learns a known spatial pattern: held-out accuracy >= 0.9', () => {
    expect(net.classes).toEqual(['left', 'right']);
    const correct = test.blocks.filter((b, i) => net.predict(b) === test.labels[i]).length;
    expect(correct / test.blocks.length).toBeGreaterThanOrEqual(0.9);
    const p = net.probabilities(test.blocks[0]);
    expect(p[0] + p[1]).toBeCloseTo(1, 5);
    expect(net.training?.backend).toBe('wasm');
  });

  it('gives probabilities without leaking tensors, into `out` when given', () => {
    const before = tf.memory().numTensors;
    const out = new Float64Array(2);
    for (const b of test.blocks) expect(net.probabilities(b, out)).toBe(out);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => net.probabilities({ data: new Float32Array(8 * 100), samples: 100 })).toThrow(/128-sample/);
  });

  it('trains deterministically for a seed', async () => {
    const a = await EegNetDecoder.fit(train.blocks, train.labels, 8, { epochs: 3, seed: 9 });
    const b = await EegNetDecoder.fit(train.blocks, train.labels, 8, { epochs: 3, seed: 9 });
    const c = await EegNetDecoder.fit(train.blocks, train.labels, 8, { epochs: 3, seed: 10 });
    const pa = test.blocks.map((x) => Array.from(a.probabilities(x)));
    expect(test.blocks.map((x) => Array.from(b.probabilities(x)))).toEqual(pa);
    expect(test.blocks.map((x) => Array.from(c.probabilities(x)))).not.toEqual(pa);
    [a, b, c].forEach((d) => d.dispose());
  });

  it('keeps the best epoch by validation loss when asked', async () => {
    const d = await EegNetDecoder.fit(train.blocks, train.labels, 8, { epochs: 4, seed: 9, validationFraction: 0.2 });
    expect(d.training?.validationLoss).toHaveLength(4);
    const best = d.training!.bestEpoch!;
    expect(d.training!.validationLoss[best]).toBe(Math.min(...d.training!.validationLoss));
    d.dispose();
  });

  it('saves and loads to identical probabilities', async () => {
    const dir = tmpDir();
    await net.save(dir);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { format: string; modelTopology: { class_name: string }; weightsManifest: { paths: string[] }[] };
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.class_name).toBe('Model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(existsSync(path.join(dir, 'weights.bin'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'neurorx.json'), 'utf8'))).toMatchObject({ classes: ['left', 'right'], channels: 8, samples: 128, scale: 1 });
    const loaded = await EegNetDecoder.load(dir);
    expect(loaded.classes).toEqual(net.classes);
    for (const b of test.blocks) expect(Array.from(loaded.probabilities(b))).toEqual(Array.from(net.probabilities(b)));
    loaded.dispose();
  });

  it('rejects inconsistent input', async () => {
    await expect(EegNetDecoder.fit(train.blocks, train.labels.slice(1), 8)).rejects.toThrow(/labels/);
    await expect(
      EegNetDecoder.fit(
        train.blocks,
        train.labels.map(() => 'x'),
        8,
      ),
    ).rejects.toThrow(/2 classes/);
    await expect(EegNetDecoder.fit(train.blocks, train.labels, 7)).rejects.toThrow(/expected 128 x 7/);
  });
});

// ---------------------------------------------------------------------------------------------
// A Keras EEGNet as `tensorflowjs_converter --input_format keras` writes it, and a plain-JS
// float64 forward pass of the reference architecture to check what the loader makes of it.

interface KerasWeights {
  conv: Float32Array; // [1, K, 1, F1]
  bn1: Float32Array[]; // gamma, beta, moving_mean, moving_variance
  depthwise: Float32Array; // [C, 1, F1, D]
  bn2: Float32Array[];
  sepDepthwise: Float32Array; // [1, 16, F1*D, 1]
  sepPointwise: Float32Array; // [1, 1, F1*D, F2]
  bn3: Float32Array[];
  denseKernel: Float32Array; // [flat, classes]
  denseBias: Float32Array;
}

interface KerasGeometry {
  C: number;
  T: number;
  K: number;
  classes: number;
  F1: number;
  D: number;
  F2: number;
}

function kerasWeights(g: KerasGeometry, rng: Random): KerasWeights {
  const FD = g.F1 * g.D;
  const flat = Math.floor(Math.floor(g.T / 4) / 8) * g.F2;
  const normal = (n: number, s: number) => Float32Array.from({ length: n }, () => s * rng.normal());
  // Each BatchNorm gets visibly different statistics, so swapped layers or weights would show.
  const bn = (n: number, shift: number) => [
    Float32Array.from({ length: n }, () => 0.6 + rng.uniform()),
    normal(n, 0.3),
    Float32Array.from({ length: n }, () => shift + rng.normal()),
    Float32Array.from({ length: n }, () => 0.2 + 3 * rng.uniform()),
  ];
  // Trained Keras weights satisfy their max-norm constraints (Keras projects after every step),
  // and tfjs-layers projects weights onto them when it sets them: columns get norms below the cap.
  const capped = (rows: number, cols: number, cap: number) => {
    const v = normal(rows * cols, 1);
    for (let j = 0; j < cols; j++) {
      let n = 0;
      for (let i = 0; i < rows; i++) n += v[i * cols + j] ** 2;
      const target = cap * (0.5 + 0.45 * rng.uniform());
      for (let i = 0; i < rows; i++) v[i * cols + j] *= target / Math.sqrt(n);
    }
    return v;
  };
  return {
    conv: normal(g.K * g.F1, 0.3),
    bn1: bn(g.F1, 0.5),
    depthwise: capped(g.C, FD, 1),
    bn2: bn(FD, -0.3),
    sepDepthwise: normal(16 * FD, 0.3),
    sepPointwise: normal(FD * g.F2, 0.3),
    bn3: bn(g.F2, 0.2),
    denseKernel: capped(flat, g.classes, 0.25),
    denseBias: normal(g.classes, 0.3),
  };
}

type Flavor = 'keras-2.4' | 'keras-2.2';

/**
 * Writes model.json + weight shards for the arl-eegmodels EEGNet as converted from Keras:
 * Keras 2.4 (tf.keras; "Functional", BatchNormalization axis [3] as built layers report it,
 * "groups") or standalone Keras 2.2 ("Model", axis -1). One weight group per layer, named
 * group<i>-shard1of1.bin, except the depthwise layer's, split into two shards mid-weight as the
 * converter's shard size limit splits large groups.
 */
function writeKerasEegNet(dir: string, g: KerasGeometry, w: KerasWeights, flavor: Flavor): void {
  const FD = g.F1 * g.D;
  const tf24 = flavor === 'keras-2.4';
  const init = (cls: string) => ({ class_name: cls, config: cls === 'GlorotUniform' ? { seed: null } : {} });
  const base = (name: string) => ({ name, trainable: true, ...(tf24 ? { dtype: 'float32' } : {}) });
  const convCommon = (padding: string) => ({
    strides: [1, 1],
    padding,
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    ...(tf24 ? { groups: 1 } : {}),
    activation: 'linear',
    use_bias: false,
    bias_initializer: init('Zeros'),
    bias_regularizer: null,
    activity_regularizer: null,
    bias_constraint: null,
  });
  const bnConfig = (name: string) => ({
    ...base(name),
    axis: tf24 ? [3] : -1,
    momentum: 0.99,
    epsilon: 0.001,
    center: true,
    scale: true,
    beta_initializer: init('Zeros'),
    gamma_initializer: init('Ones'),
    moving_mean_initializer: init('Zeros'),
    moving_variance_initializer: init('Ones'),
    beta_regularizer: null,
    gamma_regularizer: null,
    beta_constraint: null,
    gamma_constraint: null,
  });
  const layers: Array<{ class_name: string; config: Record<string, unknown> }> = [
    { class_name: 'InputLayer', config: { batch_input_shape: [null, g.C, g.T, 1], dtype: 'float32', sparse: false, ...(tf24 ? { ragged: false } : {}), name: 'input_1' } },
    {
      class_name: 'Conv2D',
      config: {
        ...base('conv2d'),
        batch_input_shape: [null, g.C, g.T, 1],
        filters: g.F1,
        kernel_size: [1, g.K],
        ...convCommon('same'),
        kernel_initializer: init('GlorotUniform'),
        kernel_regularizer: null,
        kernel_constraint: null,
      },
    },
    { class_name: 'BatchNormalization', config: bnConfig('batch_normalization') },
    {
      class_name: 'DepthwiseConv2D',
      config: {
        ...base('depthwise_conv2d'),
        kernel_size: [g.C, 1],
        ...convCommon('valid'),
        depth_multiplier: g.D,
        depthwise_initializer: init('GlorotUniform'),
        depthwise_regularizer: null,
        depthwise_constraint: { class_name: 'MaxNorm', config: { max_value: 1.0, axis: 0 } },
      },
    },
    { class_name: 'BatchNormalization', config: bnConfig('batch_normalization_1') },
    { class_name: 'Activation', config: { ...base('activation'), activation: 'elu' } },
    { class_name: 'AveragePooling2D', config: { ...base('average_pooling2d'), pool_size: [1, 4], padding: 'valid', strides: [1, 4], data_format: 'channels_last' } },
    { class_name: 'Dropout', config: { ...base('dropout'), rate: 0.5, noise_shape: null, seed: null } },
    {
      class_name: 'SeparableConv2D',
      config: {
        ...base('separable_conv2d'),
        filters: g.F2,
        kernel_size: [1, 16],
        ...convCommon('same'),
        depth_multiplier: 1,
        depthwise_initializer: init('GlorotUniform'),
        pointwise_initializer: init('GlorotUniform'),
        depthwise_regularizer: null,
        pointwise_regularizer: null,
        depthwise_constraint: null,
        pointwise_constraint: null,
      },
    },
    { class_name: 'BatchNormalization', config: bnConfig('batch_normalization_2') },
    { class_name: 'Activation', config: { ...base('activation_1'), activation: 'elu' } },
    { class_name: 'AveragePooling2D', config: { ...base('average_pooling2d_1'), pool_size: [1, 8], padding: 'valid', strides: [1, 8], data_format: 'channels_last' } },
    { class_name: 'Dropout', config: { ...base('dropout_1'), rate: 0.5, noise_shape: null, seed: null } },
    { class_name: 'Flatten', config: { ...base('flatten'), data_format: 'channels_last' } },
    {
      class_name: 'Dense',
      config: {
        ...base('dense'),
        units: g.classes,
        activation: 'linear',
        use_bias: true,
        kernel_initializer: init('GlorotUniform'),
        bias_initializer: init('Zeros'),
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: { class_name: 'MaxNorm', config: { max_value: 0.25, axis: 0 } },
        bias_constraint: null,
      },
    },
    { class_name: 'Activation', config: { ...base('softmax'), activation: 'softmax' } },
  ];
  // A chain: each layer's inbound node is the previous layer's output.
  const chained = layers.map((l, i) => ({
    class_name: l.class_name,
    config: l.config,
    name: l.config.name as string,
    inbound_nodes: i === 0 ? [] : [[[layers[i - 1].config.name as string, 0, 0, {}]]],
  }));
  const modelJson = {
    format: 'layers-model',
    generatedBy: tf24 ? 'keras v2.4.0' : 'keras v2.2.4',
    convertedBy: tf24 ? 'TensorFlow.js Converter v2.8.6' : 'TensorFlow.js Converter v1.7.4',
    modelTopology: {
      keras_version: tf24 ? '2.4.0' : '2.2.4',
      backend: 'tensorflow',
      model_config: {
        class_name: tf24 ? 'Functional' : 'Model',
        config: { name: tf24 ? 'functional_1' : 'model_1', layers: chained, input_layers: [['input_1', 0, 0]], output_layers: [['softmax', 0, 0]] },
      },
      training_config: {
        loss: 'categorical_crossentropy',
        metrics: ['accuracy'],
        weighted_metrics: null,
        loss_weights: null,
        optimizer_config: { class_name: 'Adam', config: { name: 'Adam', learning_rate: 0.001, decay: 0.0, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false } },
      },
    },
    weightsManifest: [] as Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }>,
  };
  const bnNames = ['gamma', 'beta', 'moving_mean', 'moving_variance'];
  const groups: Array<{ layer: string; weights: Array<[string, number[], Float32Array]> }> = [
    { layer: 'conv2d', weights: [['kernel', [1, g.K, 1, g.F1], w.conv]] },
    { layer: 'batch_normalization', weights: w.bn1.map((v, i) => [bnNames[i], [g.F1], v]) },
    { layer: 'depthwise_conv2d', weights: [['depthwise_kernel', [g.C, 1, g.F1, g.D], w.depthwise]] },
    { layer: 'batch_normalization_1', weights: w.bn2.map((v, i) => [bnNames[i], [FD], v]) },
    {
      layer: 'separable_conv2d',
      weights: [
        ['depthwise_kernel', [1, 16, FD, 1], w.sepDepthwise],
        ['pointwise_kernel', [1, 1, FD, g.F2], w.sepPointwise],
      ],
    },
    { layer: 'batch_normalization_2', weights: w.bn3.map((v, i) => [bnNames[i], [g.F2], v]) },
    {
      layer: 'dense',
      weights: [
        ['kernel', [w.denseKernel.length / g.classes, g.classes], w.denseKernel],
        ['bias', [g.classes], w.denseBias],
      ],
    },
  ];
  groups.forEach((group, gi) => {
    const bytes = Buffer.concat(group.weights.map(([, , v]) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
    const shards = group.layer === 'depthwise_conv2d' ? [bytes.subarray(0, 10), bytes.subarray(10)] : [bytes];
    const paths = shards.map((_, s) => `group${gi + 1}-shard${s + 1}of${shards.length}.bin`);
    shards.forEach((s, i) => writeFileSync(path.join(dir, paths[i]), s));
    modelJson.weightsManifest.push({ paths, weights: group.weights.map(([name, shape]) => ({ name: `${group.layer}/${name}`, shape, dtype: 'float32' })) });
  });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** EEGNet's forward pass by hand, in float64, from the Keras definitions and weight layouts. */
function referenceForward(g: KerasGeometry, w: KerasWeights, x: Float32Array /* [C][T] */): number[] {
  const { C, T, K, F1, D, F2 } = g;
  const FD = F1 * D;
  const eps = 1e-3;
  const bn = (v: number, p: Float32Array[], i: number) => ((v - p[2][i]) / Math.sqrt(p[3][i] + eps)) * p[0][i] + p[1][i];
  const elu = (v: number) => (v > 0 ? v : Math.expm1(v));
  // Conv2D (1, K), 'same': TensorFlow pads floor((K-1)/2) before.
  const pad1 = Math.floor((K - 1) / 2);
  const y2 = Array.from({ length: T }, () => new Float64Array(FD));
  for (let t = 0; t < T; t++) {
    for (let f = 0; f < F1; f++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const tt = t + k - pad1;
          if (tt >= 0 && tt < T) s += x[c * T + tt] * w.conv[k * F1 + f];
        }
        const u = bn(s, w.bn1, f);
        // DepthwiseConv2D (C, 1), depth multiplier D: kernel [C, 1, F1, D].
        for (let d = 0; d < D; d++) y2[t][f * D + d] += u * w.depthwise[(c * F1 + f) * D + d];
      }
    }
  }
  const pool = (rows: Float64Array[], size: number) =>
    Array.from({ length: Math.floor(rows.length / size) }, (_, i) => {
      const out = new Float64Array(rows[0].length);
      for (let k = 0; k < size; k++) rows[i * size + k].forEach((v, j) => (out[j] += v / size));
      return out;
    });
  const h1 = pool(
    y2.map((r) => r.map((v, j) => elu(bn(v, w.bn2, j)))),
    4,
  );
  // SeparableConv2D (1, 16), 'same' (7 before): depthwise [1, 16, FD, 1], then pointwise [1, 1, FD, F2].
  const T4 = h1.length;
  const h2 = Array.from({ length: T4 }, (_, t) => {
    const dw = new Float64Array(FD);
    for (let k = 0; k < 16; k++) {
      const tt = t + k - 7;
      if (tt >= 0 && tt < T4) for (let j = 0; j < FD; j++) dw[j] += h1[tt][j] * w.sepDepthwise[k * FD + j];
    }
    const pw = new Float64Array(F2);
    for (let j = 0; j < FD; j++) for (let o = 0; o < F2; o++) pw[o] += dw[j] * w.sepPointwise[j * F2 + o];
    return pw.map((v, o) => elu(bn(v, w.bn3, o)));
  });
  const flat = pool(h2, 8).flatMap((r) => Array.from(r)); // (1, T32, F2) flattened t-major
  const logits = Array.from(w.denseBias, (b, n) => flat.reduce((s, v, i) => s + v * w.denseKernel[i * g.classes + n], b));
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('Keras EEGNet converted by tensorflowjs_converter', () => {
  const g: KerasGeometry = { C: 4, T: 64, K: 32, classes: 3, F1: 8, D: 2, F2: 16 };

  it.each(['keras-2.4', 'keras-2.2'] as Flavor[])('loads (%s) and predicts as the architecture computed by hand', async (flavor) => {
    const rng = new Random(flavor === 'keras-2.4' ? 5 : 6);
    const w = kerasWeights(g, rng);
    const dir = tmpDir();
    writeKerasEegNet(dir, g, w, flavor);
    const model = await loadLayersModelFromDir(dir);
    // The loaded model is an EEGNet the trainer can fine-tune.
    expect(eegNetParts(model)).toMatchObject({ channels: g.C, samples: g.T, kernLength: g.K, F1: g.F1, D: g.D, F2: g.F2, classes: g.classes });
    const n = 4;
    const inputs = Array.from({ length: n }, () => Float32Array.from({ length: g.C * g.T }, () => 5 * rng.normal()));
    const x = tf.tensor4d(Float32Array.from(inputs.flatMap((a) => Array.from(a))), [n, g.C, g.T, 1]);
    const got = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    const want = inputs.map((a) => referenceForward(g, w, a));
    // Predictions far from uniform (1/3), so a wrong weight would show.
    expect(Math.max(...want.flat()) - Math.min(...want.flat())).toBeGreaterThan(0.2);
    expect(maxAbsDiff(got.flat(), want.flat())).toBeLessThan(1e-4);

    // The same weights put into our own model give the same predictions.
    const ours = buildEegNet({ channels: g.C, samples: g.T, classes: g.classes, F1: g.F1, D: g.D, F2: g.F2, kernLength: g.K, dropout: 0.5, normRate: 0.25, seed: 1 });
    ours.setWeights(model.getWeights());
    expect(maxAbsDiff((ours.predict(x) as tf.Tensor).dataSync(), got.flat())).toBeLessThan(1e-6);

    // Through the decoder (classes given, as a converted folder has no neurorx.json): sample-major blocks.
    const decoder = await EegNetDecoder.load(dir, { classes: ['a', 'b', 'c'] });
    const block = new Float32Array(g.T * g.C);
    for (let t = 0; t < g.T; t++) for (let c = 0; c < g.C; c++) block[t * g.C + c] = inputs[0][c * g.T + t];
    expect(maxAbsDiff(decoder.probabilities({ data: block, samples: g.T }), want[0])).toBeLessThan(1e-4);
    decoder.dispose();
    tf.dispose([x]);
    ours.dispose();
    model.dispose();
  });

  it('reports a truncated weight file and a missing neurorx.json', async () => {
    const dir = tmpDir();
    writeKerasEegNet(dir, g, kerasWeights(g, new Random(8)), 'keras-2.4');
    await expect(EegNetDecoder.load(dir)).rejects.toThrow(/ENOENT|neurorx\.json/);
    truncateSync(path.join(dir, 'group7-shard1of1.bin'), 12);
    await expect(loadLayersModelFromDir(dir)).rejects.toThrow(/weightsManifest\[6\].*holds 12 bytes/);
  });
});
