import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChannelInfo } from '../../../src/stream/types.js';
import { expectNumeric, looksLikeMat, readMat } from '../../file/mat-v5-reader.js';
import { looksLikePickle, NdArray, readPickle } from '../../file/python-pickle-reader.js';
import type { EmotionDataset, EmotionSubject, EmotionTrial } from './emotion-dataset.js';

/**
 * DEAP (Koelstra et al., 2012), the preprocessed release: 32 people watched 40 one-minute music
 * videos; 32 EEG channels (BioSemi, Geneva order) plus 8 peripheral ones, downsampled to 128 Hz,
 * EOG-cleaned, band-passed 4-45 Hz and re-referenced to the common average. One file per person, in
 * either layout of the release:
 * - data_preprocessed_python/sXX.dat: a Python 2 cPickle (protocol 2) of
 *   {'labels': float64 40x4, 'data': float64 40x40x8064} (trial x channel x sample, C order);
 * - data_preprocessed_matlab/sXX.mat: MAT v5 with the same two variables `data` (40x40x8064) and
 *   `labels` (40x4).
 * The format is recognised by content (MAT header or pickle opcodes), not by extension.
 *
 * Each 63-s trial starts with a 3-s (384-sample) pre-trial baseline, kept as `baseline`; the trial
 * is the remaining 60 s. Channels 33-40 (EOG, EMG, GSR, respiration, plethysmograph, temperature)
 * are dropped. labels columns: valence, arousal, dominance, liking, on 1-9. The preprocessed trials
 * are in video order (Experiment_id), the same for every person, so trial ids are "video-1".."video-40"
 * and refer to the same video across subjects. Values are µV, as stored.
 */

export const DEAP_EEG_CHANNELS = [
  'Fp1',
  'AF3',
  'F3',
  'F7',
  'FC5',
  'FC1',
  'C3',
  'T7',
  'CP5',
  'CP1',
  'P3',
  'P7',
  'PO3',
  'O1',
  'Oz',
  'Pz',
  'Fp2',
  'AF4',
  'Fz',
  'F4',
  'F8',
  'FC6',
  'FC2',
  'Cz',
  'C4',
  'T8',
  'CP6',
  'CP2',
  'P4',
  'P8',
  'PO4',
  'O2',
] as const;
export const DEAP_SAMPLE_RATE = 128;
export const DEAP_BASELINE_SAMPLES = 3 * DEAP_SAMPLE_RATE;
export const DEAP_RATING_SCALE = { min: 1, max: 9 } as const;

export type DeapFormat = 'python' | 'matlab';

export interface DeapReadOptions {
  /** Subject id; defaults to the file name without extension ("s01"), or "subject" for bytes. */
  readonly id?: string;
  /** Skip the content sniffing. */
  readonly format?: DeapFormat;
}

const FILE_PATTERN = /^s(\d+)\.(dat|mat)$/i;

export function deapChannels(): ChannelInfo[] {
  return DEAP_EEG_CHANNELS.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
}

/** One person's sXX.dat or sXX.mat, from a path or from its bytes. */
export async function readDeapSubject(source: string | Uint8Array, opts: DeapReadOptions = {}): Promise<EmotionSubject> {
  if (typeof source !== 'string') return parseDeapSubject(source, { ...opts, source: opts.id ?? 'DEAP file' });
  const buf = await readFile(source);
  const name = path.basename(source);
  return parseDeapSubject(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), {
    ...opts,
    id: opts.id ?? name.replace(/\.[^.]*$/, ''),
    source: name,
  });
}

export function parseDeapSubject(buf: Uint8Array, opts: DeapReadOptions & { readonly source?: string } = {}): EmotionSubject {
  const source = opts.source ?? 'DEAP file';
  const format = opts.format ?? (looksLikeMat(buf) ? 'matlab' : looksLikePickle(buf) ? 'python' : undefined);
  if (!format) throw new Error(`deap: ${source} is neither a MAT-file nor a Python pickle (expected DEAP's preprocessed sXX.mat or sXX.dat)`);
  const arrays = format === 'python' ? fromPickle(buf, source) : fromMat(buf, source);
  return buildSubject(arrays, opts.id ?? 'subject', source);
}

export interface DeapFolderOptions {
  /** Which subjects to read, by id ("s01"); all by default. */
  readonly subjects?: (id: string) => boolean;
}

/**
 * Every sXX.dat / sXX.mat in `dir`, by subject number; where both exist for a subject, the .dat.
 * All 32 subjects take about 1.3 GB as Float32.
 */
export async function readDeap(dir: string, opts: DeapFolderOptions = {}): Promise<EmotionDataset> {
  const names = await readdir(dir);
  const bySubject = new Map<number, string>();
  for (const name of names) {
    const m = FILE_PATTERN.exec(name);
    if (!m || !(opts.subjects?.(name.replace(/\.[^.]*$/, '')) ?? true)) continue;
    const n = Number(m[1]);
    const prev = bySubject.get(n);
    if (!prev || (m[2].toLowerCase() === 'dat' && !prev.toLowerCase().endsWith('.dat'))) bySubject.set(n, name);
  }
  if (bySubject.size === 0) {
    throw new Error(`deap: no sXX.dat or sXX.mat files in ${dir}${opts.subjects ? ' among the subjects asked for' : ''} (expected DEAP's data_preprocessed_python or data_preprocessed_matlab folder)`);
  }
  const subjects: EmotionSubject[] = [];
  for (const n of [...bySubject.keys()].sort((a, b) => a - b)) subjects.push(await readDeapSubject(path.join(dir, bySubject.get(n) as string)));
  return deapDataset(subjects);
}

export function deapDataset(subjects: readonly EmotionSubject[]): EmotionDataset {
  return { name: 'deap', channels: deapChannels(), sampleRate: DEAP_SAMPLE_RATE, ratingScale: { ...DEAP_RATING_SCALE }, subjects };
}

/** A 3-D or 2-D array with element (i, j, k) at i*strides[0] + j*strides[1] + k*strides[2]. */
interface Strided {
  readonly data: ArrayLike<number>;
  readonly dims: readonly number[];
  readonly strides: readonly number[];
}

interface DeapArrays {
  readonly data: Strided;
  readonly labels: Strided;
}

function fromPickle(buf: Uint8Array, source: string): DeapArrays {
  const top = readPickle(buf, { source });
  if (!(top instanceof Map)) throw new Error(`deap: ${source}: the pickle holds ${describe(top)}, not a dict with 'data' and 'labels'`);
  const get = (key: string): Strided => {
    const v = top.get(key);
    if (!(v instanceof NdArray)) {
      throw new Error(`deap: ${source}: '${key}' is ${v === undefined ? 'missing' : describe(v)}; a numpy array was expected (keys: ${[...top.keys()].map(String).join(', ')})`);
    }
    return { data: v.data, dims: v.shape, strides: v.strides };
  };
  return { data: get('data'), labels: get('labels') };
}

function fromMat(buf: Uint8Array, source: string): DeapArrays {
  const vars = readMat(buf, { source });
  const get = (name: string): Strided => {
    const v = expectNumeric(vars.get(name), `deap: ${source}: variable "${name}"`);
    const strides: number[] = [];
    let step = 1;
    for (const d of v.dims) {
      strides.push(step);
      step *= d;
    }
    return { data: v.data, dims: v.dims, strides };
  };
  return { data: get('data'), labels: get('labels') };
}

function buildSubject({ data, labels }: DeapArrays, id: string, source: string): EmotionSubject {
  const [trials, channels, samples] = data.dims;
  if (data.dims.length !== 3 || channels < DEAP_EEG_CHANNELS.length || samples <= DEAP_BASELINE_SAMPLES) {
    throw new Error(`deap: ${source}: data is ${data.dims.join('x')}; expected trials x channels (>= 32) x samples (> ${DEAP_BASELINE_SAMPLES})`);
  }
  if (labels.dims.length !== 2 || labels.dims[0] !== trials || labels.dims[1] < 4) {
    throw new Error(`deap: ${source}: labels is ${labels.dims.join('x')}; expected ${trials}x4 (valence, arousal, dominance, liking)`);
  }
  const [st, sc, ss] = data.strides;
  const nch = DEAP_EEG_CHANNELS.length;
  const block = (t: number, from: number, to: number): Float32Array => {
    const out = new Float32Array((to - from) * nch);
    for (let c = 0; c < nch; c++) {
      let src = t * st + c * sc + from * ss;
      for (let o = c; o < out.length; o += nch, src += ss) out[o] = data.data[src];
    }
    return out;
  };
  const label = (t: number, k: number): number => labels.data[t * labels.strides[0] + k * labels.strides[1]];
  const out: EmotionTrial[] = [];
  for (let t = 0; t < trials; t++) {
    out.push({
      id: `video-${t + 1}`,
      data: block(t, DEAP_BASELINE_SAMPLES, samples),
      samples: samples - DEAP_BASELINE_SAMPLES,
      baseline: { data: block(t, 0, DEAP_BASELINE_SAMPLES), samples: DEAP_BASELINE_SAMPLES },
      ratings: { valence: label(t, 0), arousal: label(t, 1), dominance: label(t, 2), liking: label(t, 3) },
    });
  }
  return { id, trials: out };
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof NdArray) return `a ${v.shape.join('x')} ${v.dtype} array`;
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}
