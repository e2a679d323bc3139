import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChannelInfo } from '../../../src/stream/types.js';
import {
  cellAt,
  expectCell,
  expectNumeric,
  expectScalar,
  expectString,
  expectStruct,
  MatFormatError,
  matToSampleMajor,
  readMatVariable,
  structField,
  type MatStruct,
  type MatValue,
} from '../../file/mat-v5-reader.js';
import type { EmotionDataset, EmotionSubject, EmotionTrial, SignalBlock } from './emotion-dataset.js';

/**
 * DREAMER (Katsigiannis & Ramzan, 2018): 23 people watched 18 film clips while an Emotiv EPOC
 * recorded 14 EEG channels at 128 Hz (and a Shimmer sensor ECG, not read here), then rated each clip
 * for valence, arousal and dominance on 1-5. It comes as one MATLAB v5 file, DREAMER.mat:
 *
 *   DREAMER                      1x1 struct
 *     .Data                      1x23 cell, one 1x1 struct per person:
 *        .Age, .Gender           char
 *        .EEG.baseline           18x1 cell, each samples x 14 double: the neutral clip before each film
 *        .EEG.stimuli            18x1 cell, each samples x 14 double: the film clip
 *        .ECG                    the same for the ECG (256 Hz, 2 channels): skipped while reading
 *        .ScoreValence, .ScoreArousal, .ScoreDominance   18x1 double, 1-5
 *     .EEG_SamplingRate (128), .ECG_SamplingRate (256), .EEG_Electrodes (1x14 cell of char),
 *     .noOfSubjects, .noOfVideoSequences, .Disclaimer, .Provider, .Version
 *
 * Mapping: subject ids "1".."23" in the order of Data; trial ids "clip-1".."clip-18" (the same clip
 * for every subject); `baseline` is EEG.baseline{k}; ratings valence/arousal/dominance on 1-5.
 * Channels are EEG_Electrodes (AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4) and the rate is
 * EEG_SamplingRate. Cells may be 1xN or Nx1 (they are read by linear index), and a matrix stored
 * channels x samples instead of samples x channels is recognised by its 14 rows.
 *
 * Units: the values as stored, Emotiv EPOC output in µV, unfiltered (expect the headset's DC offset).
 * Memory: DREAMER.mat's one variable is inflated whole (well over a gigabyte: the buffer must stay
 * under Node's 4 GB limit) before the EEG is copied out as Float32 (the ECG parts are read past, not
 * copied); the inflated buffer is garbage once readDreamer returns.
 */

export const DREAMER_ELECTRODES = ['AF3', 'F7', 'F3', 'FC5', 'T7', 'P7', 'O1', 'O2', 'P8', 'T8', 'FC6', 'F4', 'F8', 'AF4'] as const;
export const DREAMER_SAMPLE_RATE = 128;
export const DREAMER_RATING_SCALE = { min: 1, max: 5 } as const;

/** DREAMER.mat from a path or from its bytes. */
export async function readDreamer(source: string | Uint8Array): Promise<EmotionDataset> {
  if (typeof source !== 'string') return parseDreamer(source);
  const buf = await readFile(source);
  return parseDreamer(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path.basename(source));
}

export function parseDreamer(buf: Uint8Array, source = 'DREAMER.mat'): EmotionDataset {
  const top = readMatVariable(buf, 'DREAMER', { source, skip: (p) => p.endsWith('.ECG') });
  try {
    return fromStruct(expectStruct(top, 'DREAMER'));
  } catch (err) {
    if (err instanceof MatFormatError && !err.message.startsWith('mat:')) throw new MatFormatError(`dreamer: ${source}: ${err.message}`);
    throw err;
  }
}

function fromStruct(root: MatStruct): EmotionDataset {
  const at = (name: string): MatValue | undefined => root.elements[0]?.get(name);
  const electrodes = at('EEG_Electrodes') ? electrodeLabels(at('EEG_Electrodes')) : [...DREAMER_ELECTRODES];
  const sampleRate = at('EEG_SamplingRate') ? expectScalar(at('EEG_SamplingRate'), 'DREAMER.EEG_SamplingRate') : DREAMER_SAMPLE_RATE;
  const data = expectCell(structField(root, 'Data', 'DREAMER'), 'DREAMER.Data');
  const subjects: EmotionSubject[] = data.cells.map((_, k) => readSubject(cellAt(data, k, 'DREAMER.Data'), `DREAMER.Data{${k + 1}}`, String(k + 1), electrodes.length));
  const channels: ChannelInfo[] = electrodes.map((label) => ({ label, type: 'eeg', unit: 'uV' }));
  return { name: 'dreamer', channels, sampleRate, ratingScale: { ...DREAMER_RATING_SCALE }, subjects };
}

function electrodeLabels(v: MatValue | undefined): string[] {
  const cell = expectCell(v, 'DREAMER.EEG_Electrodes');
  return cell.cells.map((c, k) => expectString(c, `DREAMER.EEG_Electrodes{${k + 1}}`).trim());
}

function readSubject(v: MatValue, p: string, id: string, nch: number): EmotionSubject {
  const s = expectStruct(v, p);
  const eeg = expectStruct(structField(s, 'EEG', p), `${p}.EEG`);
  const baseline = expectCell(structField(eeg, 'baseline', `${p}.EEG`), `${p}.EEG.baseline`);
  const stimuli = expectCell(structField(eeg, 'stimuli', `${p}.EEG`), `${p}.EEG.stimuli`);
  const scores = (name: string): ArrayLike<number> => expectNumeric(structField(s, name, p), `${p}.${name}`).data;
  const valence = scores('ScoreValence');
  const arousal = scores('ScoreArousal');
  const dominance = scores('ScoreDominance');
  const clips = stimuli.cells.length;
  if (baseline.cells.length !== clips) {
    throw new MatFormatError(`${p}.EEG.baseline has ${baseline.cells.length} recordings but ${p}.EEG.stimuli has ${clips}`);
  }
  for (const [name, arr] of [
    ['ScoreValence', valence],
    ['ScoreArousal', arousal],
    ['ScoreDominance', dominance],
  ] as const) {
    if (arr.length !== clips) throw new MatFormatError(`${p}.${name} has ${arr.length} scores for ${clips} clips`);
  }
  const trials: EmotionTrial[] = [];
  for (let k = 0; k < clips; k++) {
    trials.push({
      id: `clip-${k + 1}`,
      ...signal(cellAt(stimuli, k, `${p}.EEG.stimuli`), `${p}.EEG.stimuli{${k + 1}}`, nch),
      baseline: signal(cellAt(baseline, k, `${p}.EEG.baseline`), `${p}.EEG.baseline{${k + 1}}`, nch),
      ratings: { valence: valence[k], arousal: arousal[k], dominance: dominance[k] },
    });
  }
  return { id, trials };
}

/** samples x channels (as DREAMER stores it), or channels x samples when only the rows match. */
function signal(v: MatValue, p: string, nch: number): SignalBlock {
  const m = expectNumeric(v, p);
  const [rows, cols] = m.dims;
  if (cols !== nch && rows !== nch) throw new MatFormatError(`${p} is ${m.dims.join('x')}, but there are ${nch} electrodes`);
  const block = matToSampleMajor(m, cols === nch ? 0 : 1, { path: p });
  return { data: block.data, samples: block.samples };
}
