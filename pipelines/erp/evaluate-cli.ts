import { defaultDataDir } from '../../devices/datasets/eegmmidb.js';
import { ERP_DATASETS, evaluateErp, type ErpDataset } from './evaluate.js';
import { ERP_DECODER_KINDS, type ErpDecoderKind } from './settings.js';

/**
 * `neurorx evaluate --dataset muse-p300|n170 --pipeline erp-xdawn-lda,erp-xdawn-ts-lr,erp-vector-lda`:
 * per-subject lines (unless --json), then the JSON result on the last line.
 */
export async function evaluateErpCli(names: readonly string[], o: Readonly<Record<string, unknown>>): Promise<void> {
  const dataset = (o.dataset as string | undefined) ?? 'muse-p300';
  if (!(dataset in ERP_DATASETS)) throw new Error(`--dataset: "${dataset}" is not an ERP dataset (available: ${Object.keys(ERP_DATASETS).join(', ')})`);
  for (const n of names) if (!(ERP_DECODER_KINDS as readonly string[]).includes(n)) throw new Error(`--pipeline: unknown ERP decoder "${n}" (available: ${ERP_DECODER_KINDS.join(', ')})`);
  const folds = o.folds as number | undefined;
  const result = await evaluateErp({
    dataset: dataset as ErpDataset,
    dataDir: defaultDataDir(),
    subjects: (o.subjects as number[] | undefined) ?? (dataset === 'n170' ? [1, 2, 3] : [1, 2, 3, 4]),
    decoders: names as ErpDecoderKind[],
    ...(folds !== undefined ? { folds } : {}),
    log: o.json ? undefined : (line) => console.log(line),
  });
  if (!o.json) {
    for (const p of result.pipelines) console.log(`${p.pipeline}: mean AUC ${p.meanAuc.toFixed(3)}, balanced accuracy ${p.meanBalancedAccuracy.toFixed(3)}`);
    console.log(`(${result.protocol})`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
