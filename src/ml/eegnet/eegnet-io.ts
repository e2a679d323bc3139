/**
 * TensorFlow.js Layers models on disk without tfjs-node (plain tfjs has no file:// handler): a
 * tf.io IOHandler writing and reading the standard layout, model.json (format "layers-model",
 * modelTopology, weightsManifest) beside its weight files. Reading also takes what
 * `tensorflowjs_converter --input_format keras` writes for a Keras 2 model: the topology wrapped
 * as {keras_version, backend, model_config}, one weight group per layer ("group1-shard1of1.bin",
 * ...), possibly sharded, and Keras config spellings tfjs-layers does not read (see
 * `normalizeKerasTopology`).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

/** The IOHandler for a model directory: `save` writes model.json + weights.bin, `load` reads any manifest. */
export function directoryHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

export async function saveLayersModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(directoryHandler(dir));
}

/**
 * Loads a model directory. Weights are assigned as stored: tfjs-layers' own loader projects them
 * onto the layers' constraints (max-norm) on the way in, which Keras does not do and which moves
 * already-compliant weights by ~1e-7, so a save/load round trip would not be exact. Every weight
 * of the model must be in the file, with its shape, and nothing else (strict).
 */
export async function loadLayersModelFromDir(dir: string): Promise<tfl.LayersModel> {
  const artifacts = await loadArtifacts(dir);
  const model = await tfl.models.modelFromJSON({ modelTopology: artifacts.modelTopology } as tfl.ModelAndWeightsConfig);
  const stored = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), artifacts.weightSpecs ?? []);
  try {
    const names = new Set(Object.keys(stored));
    for (const w of model.weights) {
      const value = stored[w.originalName];
      if (!value) throw new Error(`eegnet-io: ${dir} has no weight "${w.originalName}"`);
      if (value.shape.join() !== w.shape.join()) throw new Error(`eegnet-io: weight "${w.originalName}" is [${value.shape.join()}] in ${dir}, the layer wants [${w.shape.join()}]`);
      (w.read() as tf.Variable).assign(value);
      names.delete(w.originalName);
    }
    if (names.size > 0) throw new Error(`eegnet-io: ${dir} has weights no layer takes: ${[...names].join(', ')}`);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(stored));
  }
  return model;
}

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology == null) {
    throw new Error('eegnet-io: only Layers models (JSON topology) can be saved');
  }
  await fs.mkdir(dir, { recursive: true });
  const weights = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const json: tf.io.ModelJSON = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
  };
  // Weights first and each file renamed into place, so a crash never leaves a model.json that
  // points at missing or half-written weights.
  await writeAtomic(path.join(dir, WEIGHTS_FILE), new Uint8Array(weights));
  await writeAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const file = path.join(dir, MODEL_JSON);
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new Error(`eegnet-io: cannot read ${file}: ${(e as Error).message}`);
  }
  if (json == null || typeof json !== 'object' || json.modelTopology == null) throw new Error(`eegnet-io: ${file} has no modelTopology`);
  if (json.format != null && json.format !== 'layers-model') throw new Error(`eegnet-io: ${file} is a "${json.format}", not a layers-model`);
  if (!Array.isArray(json.weightsManifest)) throw new Error(`eegnet-io: ${file} has no weightsManifest`);
  const normalized: tf.io.ModelJSON = { ...json, modelTopology: normalizeKerasTopology(json.modelTopology) };
  return tf.io.getModelArtifactsForJSON(normalized, (manifest) => readWeights(dir, manifest));
}

/**
 * All weight groups' files, concatenated in manifest order (a weight may span the shards of its
 * group), with the specs in the same order: the layout tf.io.decodeWeights walks.
 */
async function readWeights(dir: string, manifest: tf.io.WeightsManifestConfig): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const root = path.resolve(dir);
  for (const [g, group] of manifest.entries()) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new Error(`eegnet-io: weightsManifest[${g}] needs "paths" and "weights"`);
    let groupBytes = 0;
    for (const p of group.paths) {
      const full = path.resolve(root, p);
      if (path.relative(root, full).startsWith('..') || path.isAbsolute(p)) throw new Error(`eegnet-io: weight file "${p}" is outside ${dir}`);
      const bytes = await fs.readFile(full).catch((e: Error) => {
        throw new Error(`eegnet-io: weightsManifest[${g}] names ${p}, which cannot be read: ${e.message}`);
      });
      parts.push(bytes);
      groupBytes += bytes.byteLength;
    }
    const expected = group.weights.reduce((n, w) => n + specBytes(w), 0);
    if (Number.isFinite(expected) && expected !== groupBytes) {
      throw new Error(`eegnet-io: weightsManifest[${g}] (${group.paths.join(', ')}) holds ${groupBytes} bytes, its weights need ${expected}`);
    }
    specs.push(...group.weights);
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return [specs, out.buffer];
}

/** Bytes of one stored weight (NaN when the layout is one this check does not know). */
function specBytes(w: tf.io.WeightsManifestEntry): number {
  const size = w.shape.reduce((a, b) => a * b, 1);
  const q = w.quantization?.dtype;
  const per = q ? ({ uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[q] : ({ float32: 4, int32: 4, bool: 1 } as Record<string, number>)[w.dtype];
  return per === undefined ? NaN : size * per;
}

/**
 * Keras 2 spellings tfjs-layers cannot read, rewritten in a copy of the topology: after being
 * built, a Keras BatchNormalization reports its axis as a list ("axis": [3]), where tfjs-layers'
 * layer wants a number.
 */
export function normalizeKerasTopology(topology: object): object {
  const copy = JSON.parse(JSON.stringify(topology)) as Record<string, unknown>;
  const modelConfig = (copy.model_config ?? copy) as { config?: { layers?: Array<{ class_name?: string; config?: Record<string, unknown> }> } };
  for (const layer of modelConfig.config?.layers ?? []) {
    const cfg = layer.config;
    if (layer.class_name === 'BatchNormalization' && cfg && Array.isArray(cfg.axis)) {
      if (cfg.axis.length !== 1) throw new Error(`eegnet-io: BatchNormalization over several axes (${JSON.stringify(cfg.axis)}) is not supported`);
      cfg.axis = cfg.axis[0];
    }
  }
  return copy;
}
