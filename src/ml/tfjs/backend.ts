/**
 * The TensorFlow.js backend of every network here (EEGNet, HiSTN, brain module).
 * `@tensorflow/tfjs-node` is an optional accelerator: when it can be imported (installed by the
 * user; it downloads a native library at install time, so the project does not depend on it) its
 * native 'tensorflow' backend runs everything. Otherwise the WebAssembly backend runs both
 * inference and training. The trainers' graphs are matrix products and element-wise ops, and
 * wasm's XNNPACK matrix product is ~30x faster than the pure-JS 'cpu' backend's (1000 x 1000:
 * ~70 ms vs ~2.2 s here), so wasm trains faster too: ~60 ms vs ~0.6 s per EEGNet step of 16
 * EEGMMIDB epochs (64 x 481) on this 2-core machine (`node dist/bench/eegnet.bench.js --backend cpu|wasm`).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers the 'cpu' backend (the wasm backend's fallback for kernels it lacks, and ours).
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

export type TfjsBackendName = 'tensorflow' | 'wasm' | 'cpu';

let ready: Promise<TfjsBackendName> | undefined;
let wasmPathsSet = false;

/**
 * Selects the backend once (later calls return the same promise): tfjs-node if it loads and
 * registers with this copy of tfjs-core, else wasm, else the pure-JS cpu backend. `prefer` (or the
 * NEURORX_TFJS_BACKEND environment variable) forces one, for measurements and tests.
 */
export function initTfjsBackend(prefer?: TfjsBackendName): Promise<TfjsBackendName> {
  if (prefer || !ready) {
    const name = prefer ?? parseBackend(process.env.NEURORX_TFJS_BACKEND);
    // A failed choice is not remembered: the next call tries again.
    const attempt: Promise<TfjsBackendName> = (name ? useBackend(name) : chooseBackend()).catch((e: unknown) => {
      if (ready === attempt) ready = undefined;
      throw e;
    });
    ready = attempt;
  }
  return ready;
}

/** The backend tfjs is running on now ('tensorflow', 'wasm' or 'cpu'). */
export function tfjsBackend(): string {
  return tf.getBackend();
}

async function chooseBackend(): Promise<TfjsBackendName> {
  if (await loadNative()) return useBackend('tensorflow');
  try {
    return await useBackend('wasm');
  } catch {
    return useBackend('cpu');
  }
}

async function useBackend(name: TfjsBackendName): Promise<TfjsBackendName> {
  if (name === 'tensorflow' && !(await loadNative())) throw new Error('tfjs: @tensorflow/tfjs-node is not installed (or does not match @tensorflow/tfjs-core)');
  if (name === 'wasm' && !wasmPathsSet) {
    // The wasm binaries sit next to the package's JS; resolving them through Node's resolver
    // works from src/ (vitest) and from dist/ alike.
    setWasmPaths(wasmDir() + path.sep);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs: backend '${name}' failed to initialise`);
  await tf.ready();
  // The cpu backend greets Node users with a console banner about tfjs-node, which is optional
  // here; prod mode only silences tfjs warnings.
  if (name === 'cpu') tf.enableProdMode();
  return name;
}

/** Imports tfjs-node if present; true when its backend is registered with our tfjs-core. */
async function loadNative(): Promise<boolean> {
  if (tf.findBackendFactory('tensorflow')) return true;
  // A variable specifier keeps TypeScript from requiring the (absent) package's types.
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(specifier);
  } catch {
    return false;
  }
  return tf.findBackendFactory('tensorflow') != null;
}

function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

function parseBackend(v: string | undefined): TfjsBackendName | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'tensorflow' || v === 'wasm' || v === 'cpu') return v;
  throw new Error(`NEURORX_TFJS_BACKEND must be tensorflow, wasm or cpu, got "${v}"`);
}
