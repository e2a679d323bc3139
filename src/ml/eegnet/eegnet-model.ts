/**
 * EEGNet-F1,D (Lawhern et al. 2018, "EEGNet: a compact convolutional neural network for EEG-based
 * brain-computer interfaces") as a plain tfl.LayersModel, laid out exactly as the reference Keras
 * implementation (arl-eegmodels, EEGModels.py `EEGNet`, channels_last): input (channels, samples, 1)
 *   Conv2D(F1, (1, kernLength), same, no bias) -> BatchNorm
 *   -> DepthwiseConv2D((channels, 1), D, no bias, max_norm 1) -> BatchNorm -> elu
 *   -> AveragePooling2D((1, 4)) -> Dropout
 *   -> SeparableConv2D(F2, (1, 16), same, no bias) -> BatchNorm -> elu
 *   -> AveragePooling2D((1, 8)) -> Dropout -> Flatten -> Dense(classes, max_norm 0.25) -> softmax
 * Layer names follow Keras' defaults so saved models read like Keras ones and Keras weights load.
 * `eegNetParts` finds these layers (and their weight variables) in any such model, built here or
 * loaded from a Keras conversion, for the conv-free trainer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Hyper-parameters of one EEGNet. */
export interface EegNetConfig {
  readonly channels: number;
  readonly samples: number;
  readonly classes: number;
  /** Temporal filters. */
  readonly F1: number;
  /** Spatial filters per temporal filter. */
  readonly D: number;
  /** Pointwise filters of the separable convolution. */
  readonly F2: number;
  /** Temporal kernel length (half the sample rate in the paper). */
  readonly kernLength: number;
  readonly dropout: number;
  /** Max norm of each class's dense weights (0.25 in the paper). */
  readonly normRate: number;
  /** Seed of the Glorot-uniform initialisers (one derived seed per layer). */
  readonly seed: number;
}

export const EEGNET_DEFAULTS = { F1: 8, D: 2, F2: 16, dropout: 0.5, normRate: 0.25 } as const;

/** Kernel length of the separable convolution and the two pooling sizes (fixed in EEGNet). */
export const SEPARABLE_KERNEL = 16;
export const POOL1 = 4;
export const POOL2 = 8;

export function buildEegNet(cfg: EegNetConfig): tfl.LayersModel {
  checkConfig(cfg);
  const glorot = (i: number) => tfl.initializers.glorotUniform({ seed: (cfg.seed * 7919 + i) >>> 0 });
  const input = tfl.input({ shape: [cfg.channels, cfg.samples, 1], name: 'input_1' });
  let x = tfl.layers.conv2d({ name: 'conv2d', filters: cfg.F1, kernelSize: [1, cfg.kernLength], padding: 'same', useBias: false, kernelInitializer: glorot(1) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'batch_normalization', axis: -1 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .depthwiseConv2d({
      name: 'depthwise_conv2d',
      kernelSize: [cfg.channels, 1],
      depthMultiplier: cfg.D,
      useBias: false,
      depthwiseInitializer: glorot(2),
      depthwiseConstraint: tfl.constraints.maxNorm({ maxValue: 1, axis: 0 }),
    })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'batch_normalization_1', axis: -1 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ name: 'activation', activation: 'elu' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.averagePooling2d({ name: 'average_pooling2d', poolSize: [1, POOL1] }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ name: 'dropout', rate: cfg.dropout }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .separableConv2d({
      name: 'separable_conv2d',
      filters: cfg.F2,
      kernelSize: [1, SEPARABLE_KERNEL],
      padding: 'same',
      useBias: false,
      depthwiseInitializer: glorot(3),
      pointwiseInitializer: glorot(4),
    })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'batch_normalization_2', axis: -1 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ name: 'activation_1', activation: 'elu' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.averagePooling2d({ name: 'average_pooling2d_1', poolSize: [1, POOL2] }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ name: 'dropout_1', rate: cfg.dropout }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .dense({ name: 'dense', units: cfg.classes, kernelInitializer: glorot(5), kernelConstraint: tfl.constraints.maxNorm({ maxValue: cfg.normRate, axis: 0 }) })
    .apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.activation({ name: 'softmax', activation: 'softmax' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ name: 'eegnet', inputs: input, outputs: out });
}

function checkConfig(cfg: EegNetConfig): void {
  for (const k of ['channels', 'samples', 'classes', 'F1', 'D', 'F2', 'kernLength'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`eegnet: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.classes < 2) throw new Error(`eegnet: at least 2 classes are needed, got ${cfg.classes}`);
  if (Math.floor(Math.floor(cfg.samples / POOL1) / POOL2) < 1) throw new Error(`eegnet: samples must be at least ${POOL1 * POOL2}, got ${cfg.samples}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`eegnet: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (!(cfg.normRate > 0)) throw new Error(`eegnet: normRate must be positive, got ${cfg.normRate}`);
}

/** Weight variables of one BatchNormalization layer. */
export interface BatchNormParts {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly movingMean: tf.Variable;
  readonly movingVariance: tf.Variable;
  readonly epsilon: number;
  readonly momentum: number;
}

/** A weight variable with the constraint its layer projects it onto after each update. */
export interface ConstrainedVariable {
  readonly variable: tf.Variable;
  readonly constraint: { apply(w: tf.Tensor): tf.Tensor } | null;
}

/**
 * The layers of an EEGNet-shaped LayersModel: shapes, rates and the live weight variables (the
 * tf.Variables the layers themselves read, so training them trains the model).
 */
export interface EegNetParts extends Pick<EegNetConfig, 'channels' | 'samples' | 'classes' | 'F1' | 'D' | 'F2' | 'kernLength'> {
  readonly separableKernel: number;
  readonly pool1: number;
  readonly pool2: number;
  readonly dropout1: number;
  readonly dropout2: number;
  /** [1, kernLength, 1, F1] */
  readonly temporal: ConstrainedVariable;
  readonly bn1: BatchNormParts;
  /** [channels, 1, F1, D] */
  readonly spatial: ConstrainedVariable;
  readonly bn2: BatchNormParts;
  /** [1, separableKernel, F1*D, 1] */
  readonly separableDepthwise: ConstrainedVariable;
  /** [1, 1, F1*D, F2] */
  readonly separablePointwise: ConstrainedVariable;
  readonly bn3: BatchNormParts;
  /** [flat, classes] and [classes] */
  readonly denseKernel: ConstrainedVariable;
  readonly denseBias: ConstrainedVariable;
}

type AnyLayer = tfl.layers.Layer;
type Config = Record<string, unknown>;

/**
 * Walks an EEGNet LayersModel (ours or a converted Keras one) and returns its parts. Throws, naming
 * the layer, if the model is not the EEGNet layout the conv-free trainer reproduces.
 */
export function eegNetParts(model: tfl.LayersModel): EegNetParts {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let i = 0;
  const next = (cls: string, check?: (c: Config) => string | null): { layer: AnyLayer; cfg: Config } => {
    const layer = layers[i++];
    if (!layer || layer.getClassName() !== cls) {
      throw new Error(`eegnet: layer ${i} should be ${cls}, found ${layer ? `${layer.getClassName()} "${layer.name}"` : 'nothing'} (not an EEGNet layout)`);
    }
    const cfg = layer.getConfig() as Config;
    const problem = check?.(cfg);
    if (problem) throw new Error(`eegnet: layer "${layer.name}" (${cls}): ${problem}`);
    return { layer, cfg };
  };
  const noBias = (c: Config) => (c.useBias ? 'must not use a bias' : null);
  const activation = (name: string) => (c: Config) => (c.activation === name ? null : `activation must be ${name}, is ${String(c.activation)}`);

  const inShape = model.inputs[0].shape;
  if (inShape.length !== 4 || inShape[3] !== 1) throw new Error(`eegnet: input must be (channels, samples, 1), is ${JSON.stringify(inShape.slice(1))}`);
  const channels = inShape[1] as number;
  const samples = inShape[2] as number;

  const conv = next('Conv2D', (c) => noBias(c) ?? (c.padding !== 'same' ? 'padding must be same' : null) ?? (c.activation !== 'linear' ? 'activation must be linear' : null));
  const bn1 = next('BatchNormalization');
  const spatial = next('DepthwiseConv2D', (c) => noBias(c) ?? (c.padding !== 'valid' ? 'padding must be valid' : null) ?? (c.activation !== 'linear' ? 'activation must be linear' : null));
  const bn2 = next('BatchNormalization');
  next('Activation', activation('elu'));
  const pool1 = next('AveragePooling2D', poolCheck);
  const drop1 = next('Dropout');
  const sep = next('SeparableConv2D', (c) => noBias(c) ?? (c.padding !== 'same' ? 'padding must be same' : null) ?? (c.activation !== 'linear' ? 'activation must be linear' : null));
  const bn3 = next('BatchNormalization');
  next('Activation', activation('elu'));
  const pool2 = next('AveragePooling2D', poolCheck);
  const drop2 = next('Dropout');
  next('Flatten');
  const dense = next('Dense');
  // Keras' EEGNet ends Dense(linear) -> Activation(softmax); a Dense(softmax) is accepted too.
  if (dense.cfg.activation !== 'softmax') {
    if (dense.cfg.activation !== 'linear') throw new Error(`eegnet: dense layer activation must be linear or softmax`);
    next('Activation', activation('softmax'));
  }
  if (i !== layers.length) throw new Error(`eegnet: unexpected layer "${layers[i].name}" after the classifier`);

  const temporal = weight(conv.layer, 'kernel');
  const sd = weight(spatial.layer, 'depthwise_kernel');
  const kernLength = dim(temporal, 1);
  const F1 = dim(temporal, 3);
  const D = dim(sd, 3);
  if (temporal.variable.shape[0] !== 1) throw new Error('eegnet: temporal kernel must be (1, kernLength)');
  if (sd.variable.shape[0] !== channels || sd.variable.shape[1] !== 1) throw new Error(`eegnet: depthwise kernel must be (${channels}, 1)`);
  const sepDw = weight(sep.layer, 'depthwise_kernel');
  const sepPw = weight(sep.layer, 'pointwise_kernel');
  if (sepDw.variable.shape[0] !== 1 || sepDw.variable.shape[3] !== 1) throw new Error('eegnet: separable kernel must be (1, k) with depth multiplier 1');
  const denseKernel = weight(dense.layer, 'kernel');
  const denseBias = dense.cfg.useBias ? weight(dense.layer, 'bias') : null;
  if (!denseBias) throw new Error('eegnet: dense layer must have a bias');
  return {
    channels,
    samples,
    classes: dim(denseKernel, 1),
    F1,
    D,
    F2: dim(sepPw, 3),
    kernLength,
    separableKernel: dim(sepDw, 1),
    pool1: (pool1.cfg.poolSize as number[])[1],
    pool2: (pool2.cfg.poolSize as number[])[1],
    dropout1: drop1.cfg.rate as number,
    dropout2: drop2.cfg.rate as number,
    temporal,
    bn1: batchNorm(bn1.layer, bn1.cfg),
    spatial: sd,
    bn2: batchNorm(bn2.layer, bn2.cfg),
    separableDepthwise: sepDw,
    separablePointwise: sepPw,
    bn3: batchNorm(bn3.layer, bn3.cfg),
    denseKernel,
    denseBias,
  };
}

function dim(w: ConstrainedVariable, axis: number): number {
  return w.variable.shape[axis];
}

function poolCheck(c: Config): string | null {
  const size = c.poolSize as number[];
  const strides = (c.strides as number[] | null) ?? size;
  if (size[0] !== 1 || strides[0] !== 1 || strides[1] !== size[1]) return 'pooling must be (1, n) with stride n';
  return c.padding === 'valid' ? null : 'padding must be valid';
}

function batchNorm(layer: AnyLayer, cfg: Config): BatchNormParts {
  const axis: unknown = Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : cfg.axis;
  if (axis !== -1 && axis !== 3) throw new Error(`eegnet: batch normalisation "${layer.name}" must normalise the last axis`);
  if (cfg.center === false || cfg.scale === false) throw new Error(`eegnet: batch normalisation "${layer.name}" must have gamma and beta`);
  return {
    gamma: weight(layer, 'gamma').variable,
    beta: weight(layer, 'beta').variable,
    movingMean: weight(layer, 'moving_mean').variable,
    movingVariance: weight(layer, 'moving_variance').variable,
    epsilon: cfg.epsilon as number,
    momentum: cfg.momentum as number,
  };
}

/** The live tf.Variable behind a layer weight (LayerVariable.read() returns the variable itself). */
function weight(layer: AnyLayer, name: string): ConstrainedVariable {
  const lv = layer.weights.find((w) => w.originalName.endsWith(`/${name}`));
  if (!lv) throw new Error(`eegnet: layer "${layer.name}" has no weight "${name}"`);
  const v = lv.read();
  if (!(v instanceof tf.Variable)) throw new Error(`eegnet: weight ${lv.originalName} is not backed by a variable`);
  return { variable: v as tf.Variable, constraint: lv.constraint ?? null };
}
