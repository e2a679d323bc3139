import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChannelInfo } from '../../../src/stream/types.js';
import { expectNumeric, listVariables, matToSampleMajor, readMatVariable, type MatVariableInfo } from '../../file/mat-v5-reader.js';
import type { EmotionDataset, EmotionSubject, EmotionTrial } from './emotion-dataset.js';

/**
 * SEED (SJTU Emotion EEG Dataset, BCMI lab; Zheng & Lu, 2015): 15 people, 3 sessions each, watched
 * 15 Chinese film clips (about 4 minutes each) chosen to be positive, neutral or negative, recorded
 * with a 62-channel ESI NeuroScan cap. The Preprocessed_EEG folder holds:
 * - <subject>_<date>.mat, one per session (e.g. 1_20131027.mat): 15 variables
 *   <prefix>_eeg1 .. <prefix>_eeg15 (the prefix is the subject's initials, e.g. djc_, ww_), each a
 *   62 x samples double matrix (channels x samples), downsampled to 200 Hz and band-passed 0-75 Hz,
 *   in µV;
 * - label.mat: `label`, 1x15: 1 positive, 0 neutral, -1 negative, the same clip order for all.
 *
 * Mapping: subject id "<subject>-<date>" (each session is its own EmotionSubject, as the
 * EmotionSubject type documents for SEED); trial ids "clip-1".."clip-15"; each trial gets
 * `category` 'positive' | 'neutral' | 'negative' and no ratings: SEED's labels are the intended
 * emotion of the clip, not self-assessments, so they are not turned into a rating scale and the
 * dataset's `ratingScale` is undefined. SEED has no pre-stimulus baseline in this release.
 */

export const SEED_CHANNEL_LABELS = [
  'Fp1',
  'Fpz',
  'Fp2',
  'AF3',
  'AF4',
  'F7',
  'F5',
  'F3',
  'F1',
  'Fz',
  'F2',
  'F4',
  'F6',
  'F8',
  'FT7',
  'FC5',
  'FC3',
  'FC1',
  'FCz',
  'FC2',
  'FC4',
  'FC6',
  'FT8',
  'T7',
  'C5',
  'C3',
  'C1',
  'Cz',
  'C2',
  'C4',
  'C6',
  'T8',
  'TP7',
  'CP5',
  'CP3',
  'CP1',
  'CPz',
  'CP2',
  'CP4',
  'CP6',
  'TP8',
  'P7',
  'P5',
  'P3',
  'P1',
  'Pz',
  'P2',
  'P4',
  'P6',
  'P8',
  'PO7',
  'PO5',
  'PO3',
  'POz',
  'PO4',
  'PO6',
  'PO8',
  'CB1',
  'O1',
  'Oz',
  'O2',
  'CB2',
] as const;
export const SEED_SAMPLE_RATE = 200;

export type SeedCategory = 'positive' | 'neutral' | 'negative';

const SESSION_PATTERN = /^(\d+)_(\d+)\.mat$/i;
const TRIAL_PATTERN = /^(.*)_eeg(\d+)$/;

export function seedChannels(): ChannelInfo[] {
  return SEED_CHANNEL_LABELS.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
}

export function seedCategory(label: number): SeedCategory {
  if (label === 1) return 'positive';
  if (label === 0) return 'neutral';
  if (label === -1) return 'negative';
  throw new Error(`seed: label ${label} is not 1 (positive), 0 (neutral) or -1 (negative)`);
}

/** label.mat's `label` vector. */
export async function readSeedLabels(source: string | Uint8Array): Promise<number[]> {
  const name = typeof source === 'string' ? path.basename(source) : 'label.mat';
  const buf = typeof source === 'string' ? await readFile(source) : source;
  const v = expectNumeric(readMatVariable(buf, 'label', { source: name }), `seed: ${name}: label`);
  const labels = Array.from(v.data, Number);
  labels.forEach(seedCategory);
  return labels;
}

/** One session file; `labels` from label.mat (one per clip). */
export async function readSeedSession(source: string | Uint8Array, labels: readonly number[], opts: { readonly id?: string } = {}): Promise<EmotionSubject> {
  if (typeof source !== 'string') return parseSeedSession(source, labels, { id: opts.id ?? 'session', source: opts.id ?? 'SEED session' });
  const name = path.basename(source);
  const m = SESSION_PATTERN.exec(name);
  const buf = await readFile(source);
  return parseSeedSession(buf, labels, { id: opts.id ?? (m ? `${m[1]}-${m[2]}` : name.replace(/\.mat$/i, '')), source: name });
}

export function parseSeedSession(buf: Uint8Array, labels: readonly number[], opts: { readonly id: string; readonly source: string }): EmotionSubject {
  const { source } = opts;
  const byClip = new Map<number, MatVariableInfo>();
  for (const info of listVariables(buf, { source })) {
    const m = TRIAL_PATTERN.exec(info.name);
    if (!m) continue;
    const k = Number(m[2]);
    const prev = byClip.get(k);
    if (prev) throw new Error(`seed: ${source}: both ${prev.name} and ${info.name} claim clip ${k}`);
    byClip.set(k, info);
  }
  if (byClip.size !== labels.length) {
    throw new Error(`seed: ${source} holds ${byClip.size} <prefix>_eegN variables, but label.mat has ${labels.length} labels`);
  }
  const prefix = TRIAL_PATTERN.exec([...byClip.values()][0]?.name ?? '')?.[1] ?? '<prefix>';
  const trials: EmotionTrial[] = labels.map((label, k) => {
    const info = byClip.get(k + 1);
    if (!info) throw new Error(`seed: ${source}: no variable ${prefix}_eeg${k + 1} (variables: ${[...byClip.values()].map((i) => i.name).join(', ')})`);
    if (info.dims[0] !== SEED_CHANNEL_LABELS.length) {
      throw new Error(`seed: ${source}: ${info.name} is ${info.dims.join('x')}; expected ${SEED_CHANNEL_LABELS.length} channels x samples`);
    }
    const block = matToSampleMajor(readMatVariable(buf, info, { source }), 1, { path: `${source}: ${info.name}` });
    return { id: `clip-${k + 1}`, data: block.data, samples: block.samples, ratings: {}, category: seedCategory(label) };
  });
  return { id: opts.id, trials };
}

export interface SeedReadOptions {
  /** Which sessions to read, by id ("1-20131027"); all by default. */
  readonly sessions?: (id: string) => boolean;
}

/**
 * Every <subject>_<date>.mat session in `dir` (with its label.mat), by subject then date. All 45
 * sessions take about 8 GB as Float32: pick some with `sessions` when memory is short.
 */
export async function readSeed(dir: string, opts: SeedReadOptions = {}): Promise<EmotionDataset> {
  const names = await readdir(dir);
  if (!names.includes('label.mat')) throw new Error(`seed: ${dir} has no label.mat (expected SEED's Preprocessed_EEG folder)`);
  const labels = await readSeedLabels(path.join(dir, 'label.mat'));
  const sessions = names
    .map((name) => ({ name, m: SESSION_PATTERN.exec(name) }))
    .filter((s): s is { name: string; m: RegExpExecArray } => s.m !== null && (opts.sessions?.(`${s.m[1]}-${s.m[2]}`) ?? true))
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || a.m[2].localeCompare(b.m[2]));
  if (sessions.length === 0) throw new Error(`seed: no <subject>_<date>.mat session files in ${dir}${opts.sessions ? ' (among the sessions asked for)' : ''}`);
  const subjects: EmotionSubject[] = [];
  for (const s of sessions) subjects.push(await readSeedSession(path.join(dir, s.name), labels));
  return { name: 'seed', channels: seedChannels(), sampleRate: SEED_SAMPLE_RATE, subjects };
}
