import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultDataDir } from '../eegmmidb.js';
import { deapDataset, readDeap, readDeapSubject } from './deap.js';
import { readDreamer } from './dreamer.js';
import type { EmotionDataset } from './emotion-dataset.js';
import { readSeed } from './seed.js';

/**
 * Opens an emotion dataset by name. The public ones are read from where the user put them:
 *
 *   dreamer   <dataDir>/dreamer/DREAMER.mat                   (a file)
 *   deap      <dataDir>/deap/data_preprocessed_python         (a folder of sXX.dat; or ..._matlab with
 *             sXX.mat, tried second; `path` may also name one sXX file)
 *   seed      <dataDir>/seed/Preprocessed_EEG                 (a folder of <subject>_<date>.mat + label.mat)
 *
 * `path` overrides the default location; `dataDir` defaults to $NEURORX_DATA or ../shared/data.
 * None of these can ship with neurorx: each is licensed to the person who asked for it, so a missing
 * file is an error saying where to ask and where to put it. 'synthetic-emotion' is generated, not
 * read: pass `synthetic` to make it (the dispatcher only calls it).
 */

export const EMOTION_DATASET_NAMES = ['dreamer', 'deap', 'seed', 'synthetic-emotion'] as const;

export interface OpenEmotionDatasetOptions {
  /** The dataset's file or folder, instead of the default under `dataDir`. */
  readonly path?: string;
  readonly dataDir?: string;
  /**
   * Only these subjects (by number: DEAP's s07 is 7, SEED's sessions 7-<date> are subject 7);
   * DEAP and SEED then read only their files, which keeps memory in bounds.
   */
  readonly subjects?: readonly number[];
  /** Makes 'synthetic-emotion'. */
  readonly synthetic?: () => EmotionDataset | Promise<EmotionDataset>;
}

export async function openEmotionDataset(name: string, opts: OpenEmotionDatasetOptions = {}): Promise<EmotionDataset> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  switch (name) {
    case 'dreamer': {
      const file = opts.path ?? path.join(dataDir, 'dreamer', 'DREAMER.mat');
      if (!existsSync(file)) throw missing('dreamer', file);
      return readDreamer(file);
    }
    case 'deap': {
      const candidates = opts.path ? [opts.path] : ['data_preprocessed_python', 'data_preprocessed_matlab'].map((d) => path.join(dataDir, 'deap', d));
      const found = candidates.find((c) => existsSync(c));
      if (!found) throw missing('deap', candidates.join(' or '));
      if (statSync(found).isFile()) return deapDataset([await readDeapSubject(found)]);
      return readDeap(found, { subjects: wanted(opts.subjects) });
    }
    case 'seed': {
      const dir = opts.path ?? path.join(dataDir, 'seed', 'Preprocessed_EEG');
      if (!existsSync(dir)) throw missing('seed', dir);
      return readSeed(dir, { sessions: wanted(opts.subjects) });
    }
    case 'synthetic-emotion':
      if (!opts.synthetic) throw new Error("'synthetic-emotion' is generated, not read from files: pass opts.synthetic to openEmotionDataset");
      return opts.synthetic();
    default:
      throw new Error(`unknown emotion dataset "${name}" (known: ${EMOTION_DATASET_NAMES.join(', ')})`);
  }
}

/** The subject number in an id ("s07" -> 7, "7-20131027" -> 7, "7" -> 7). */
export function subjectNumber(id: string): number | undefined {
  const m = /\d+/.exec(id);
  return m ? Number(m[0]) : undefined;
}

function wanted(subjects: readonly number[] | undefined): ((id: string) => boolean) | undefined {
  if (!subjects) return undefined;
  const keep = new Set(subjects);
  return (id) => keep.has(subjectNumber(id) ?? NaN);
}

const HOW_TO_GET: Record<'dreamer' | 'deap' | 'seed', { what: string; how: string }> = {
  dreamer: {
    what: 'DREAMER.mat',
    how: 'DREAMER is distributed on request: ask for access on its Zenodo record (https://zenodo.org/record/546113), ' + 'then download DREAMER.mat',
  },
  deap: {
    what: "DEAP's preprocessed data (data_preprocessed_python/ with s01.dat..s32.dat, or data_preprocessed_matlab/ with s01.mat..s32.mat)",
    how:
      'DEAP is distributed under an end-user licence agreement: sign the EULA on its page at Queen Mary University of London ' +
      '(https://www.eecs.qmul.ac.uk/mmv/datasets/deap/), then download and unzip data_preprocessed_python.zip (or data_preprocessed_matlab.zip)',
  },
  seed: {
    what: "SEED's Preprocessed_EEG folder (<subject>_<date>.mat files and label.mat)",
    how: 'SEED is distributed by the BCMI lab of Shanghai Jiao Tong University on application: ' + 'apply at https://bcmi.sjtu.edu.cn/home/seed/, then download SEED/Preprocessed_EEG',
  },
};

function missing(name: 'dreamer' | 'deap' | 'seed', where: string): Error {
  const h = HOW_TO_GET[name];
  return new Error(
    `${name}: ${where} not found. neurorx cannot ship this dataset (it is licensed to each user who requests it). ` +
      `${h.how}, and put ${h.what} at ${where} (or pass its location as the dataset path).`,
  );
}
