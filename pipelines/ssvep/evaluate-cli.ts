import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { evaluateSsvep, SSVEP_DECODERS, type SsvepDecoderName } from './evaluate.js';

export { SSVEP_DECODERS };

/** `neurorx evaluate --dataset muse-ssvep --pipeline cca,fbcca,trca --window 3`: per-subject lines, then the JSON result on the last line. */
export async function evaluateSsvepCli(names: readonly string[], o: Readonly<Record<string, unknown>>): Promise<void> {
  const dataset = (o.dataset as string | undefined) ?? 'muse-ssvep';
  if (dataset !== 'muse-ssvep') throw new Error(`--dataset: unknown dataset "${dataset}" for SSVEP decoders (available: muse-ssvep)`);
  const decoders = names.map((n): SsvepDecoderName => {
    if (!(SSVEP_DECODERS as readonly string[]).includes(n)) throw new Error(`--pipeline: unknown SSVEP decoder "${n}" (available: ${SSVEP_DECODERS.join(', ')})`);
    return n as SsvepDecoderName;
  });
  const window = (o.window as number | undefined) ?? 3;
  if (!(window > 0 && window <= 3)) throw new Error(`--window must be in (0, 3] seconds (the stimulus lasts 3 s), got ${window}`);
  const harmonics = (o.harmonics as number | undefined) ?? 2;
  if (!Number.isInteger(harmonics) || harmonics < 1 || harmonics > 4) throw new Error(`--harmonics must be an integer in 1..4 (below Nyquist at 256 Hz), got ${harmonics}`);
  const folds = (o.folds as number | undefined) ?? 5;
  const result = await evaluateSsvep({ dataDir: defaultDataDir(), subjects: (o.subjects as number[] | undefined) ?? [1, 3], decoders, window, harmonics, folds });
  if (!o.json) {
    for (const p of result.pipelines) {
      for (const s of p.subjects) console.log(`${p.pipeline} subject ${s.subject}: accuracy ${s.accuracy.toFixed(3)} (${s.trials} trials)`);
      console.log(`${p.pipeline}: mean accuracy ${p.meanAccuracy.toFixed(3)}`);
    }
    console.log(`(${result.protocol})`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
