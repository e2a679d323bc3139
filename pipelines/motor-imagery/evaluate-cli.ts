import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { DECODER_KINDS, type DecoderKind } from '../../src/ml/decoders/decoder.js';
import { decoderSpec, type DecoderSpec } from '../../src/ml/decoders/decoder-spec.js';
import { evaluateMotorImagery, TASK_RUNS, type CrossValidation, type MotorTask } from './evaluate.js';

const numberOf = (flag: string, v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got "${v}"`);
  return n;
};

/** `neurorx evaluate --pipeline csp-lda,...`: per-subject lines, then the JSON result on the last line. */
export async function evaluateMotorImageryCli(names: readonly string[], o: Readonly<Record<string, unknown>>): Promise<void> {
  const dataset = (o.dataset as string | undefined) ?? 'eegmmidb';
  const [low, high] = String(o.band).split(',').map(Number);
  if (!(low > 0 && high > low)) throw new Error(`--band must be "low,high" in Hz, got "${String(o.band)}"`);
  if (dataset !== 'eegmmidb' && dataset !== 'synthetic') throw new Error(`--dataset: unknown dataset "${dataset}" (available: eegmmidb, synthetic)`);
  const task = String(o.task);
  if (!(task in TASK_RUNS)) throw new Error(`--task: unknown task "${task}" (available: ${Object.keys(TASK_RUNS).join(', ')})`);
  const shrink = String(o.shrinkage);
  const shrinkage = shrink === 'none' ? null : shrink === 'auto' ? 'auto' : numberOf('--shrinkage', shrink);
  const pipelines = names.map((name): DecoderSpec => {
    if (!(DECODER_KINDS as readonly string[]).includes(name)) throw new Error(`--pipeline: unknown decoder "${name}" (available: ${DECODER_KINDS.join(', ')})`);
    const kind = name as DecoderKind;
    if (kind === 'csp-lda') return decoderSpec({ kind, components: o.components as number, shrinkage });
    if (kind === 'csp-ovr' || kind === 'fbcsp') return decoderSpec({ kind, components: o.components as number });
    if (kind === 'eegnet' && o.epochs !== undefined) return decoderSpec({ kind, epochs: o.epochs as number });
    return decoderSpec(kind);
  });
  const cvName = String(o.cv);
  const folds = o.folds as number | undefined;
  const cv: CrossValidation =
    cvName === 'kfold'
      ? { kind: 'kfold', folds: folds ?? 5 }
      : cvName === 'shuffle'
        ? { kind: 'shuffle', splits: folds ?? 10, testSize: o.testSize as number, seed: o.seed as number }
        : cvName === 'cross-run'
          ? { kind: 'cross-run', testRuns: o.testRuns as number[] | undefined }
          : (() => {
              throw new Error(`--cv: unknown scheme "${cvName}" (available: kfold, shuffle, cross-run)`);
            })();
  const result = await evaluateMotorImagery({
    dataset,
    dataDir: defaultDataDir(),
    subjects: (o.subjects as number[] | undefined) ?? [1],
    runs: (o.runs as number[] | undefined) ?? [...TASK_RUNS[task as MotorTask]],
    pipelines,
    band: { low, high, order: o.order as number },
    tmin: o.tmin as number,
    tmax: o.tmax as number,
    cv,
    recenter: o.recenter as boolean,
  });
  if (!o.json) {
    for (const p of result.pipelines) {
      for (const s of p.subjects) {
        console.log(`${p.pipeline} subject ${s.subject}: accuracy ${s.accuracy.toFixed(3)} kappa ${s.kappa.toFixed(3)} (${s.trials} trials, fit ${s.fitMs.toFixed(1)} ms)`);
      }
      console.log(`${p.pipeline}: mean accuracy ${p.meanAccuracy.toFixed(3)}, kappa ${p.meanKappa.toFixed(3)}`);
    }
    console.log(`(${result.protocol})`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
