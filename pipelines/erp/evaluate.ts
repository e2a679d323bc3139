import { MUSE_EEG_CHANNELS } from '../../devices/file/muse-csv.js';
import { readMuseVisualSubject, type MuseParadigm } from '../../devices/datasets/muse-visual.js';
import { balancedAccuracy, rocAuc } from '../../src/ml/binary-metrics.js';
import { interleavedStratifiedFolds } from '../../src/ml/cross-validation.js';
import { fitErpDecoder, NON_TARGET, TARGET } from './erp-decoder.js';
import { flashesOfRecording, type FlashEpoch } from './flash-epochs.js';
import { erpDecoderSpec, erpPreprocessingSchema, type ErpDecoderKind, type ErpPreprocessing } from './settings.js';

/** The Muse datasets the ERP decoders are scored on: which marker code is the "target" class. */
export const ERP_DATASETS = {
  /** Visual oddball (cats vs dogs): 2 = target image, 1 = non-target. */
  'muse-p300': { paradigm: 'P300', target: '2', nonTarget: '1', what: 'target vs non-target flashes' },
  /** Faces (2) vs houses (1); "target" is only the positive class here. */
  n170: { paradigm: 'N170', target: '2', nonTarget: '1', what: 'faces vs houses' },
} as const satisfies Record<string, { paradigm: MuseParadigm; target: string; nonTarget: string; what: string }>;

export type ErpDataset = keyof typeof ERP_DATASETS;

export interface ErpEvaluateOptions {
  readonly dataset: ErpDataset;
  readonly dataDir: string;
  readonly subjects: readonly number[];
  readonly decoders: readonly ErpDecoderKind[];
  readonly folds?: number;
  readonly preprocessing?: Partial<ErpPreprocessing>;
  readonly components?: number;
  readonly log?: (line: string) => void;
}

export interface ErpSubjectResult {
  subject: number;
  flashes: number;
  targets: number;
  rejected: number;
  auc: number;
  balancedAccuracy: number;
}

export interface ErpPipelineResult {
  pipeline: string;
  subjects: ErpSubjectResult[];
  meanAuc: number;
  meanBalancedAccuracy: number;
}

export interface ErpEvaluationResult extends ErpPipelineResult {
  dataset: string;
  protocol: string;
  /** Every decoder's result (the top-level fields are the first's). */
  pipelines: ErpPipelineResult[];
  /** The decoder with the highest mean AUC. */
  best: string;
}

/** A subject's flashes (every run filtered on its own, from rest), the rejected ones dropped. */
export async function subjectFlashes(dataset: ErpDataset, dataDir: string, subject: number, p: ErpPreprocessing): Promise<{ kept: FlashEpoch[]; rejected: number }> {
  const d = ERP_DATASETS[dataset];
  const labelOf = (v: string): string | undefined => (v === d.target ? TARGET : v === d.nonTarget ? NON_TARGET : undefined);
  const runs = await readMuseVisualSubject(dataDir, d.paradigm, subject);
  const all: FlashEpoch[] = [];
  for (const run of runs) all.push(...(await flashesOfRecording(run.recording, MUSE_EEG_CHANNELS, p, labelOf)));
  const kept = all.filter((f) => !f.rejected);
  return { kept, rejected: all.length - kept.length };
}

/**
 * Per subject: every run's flashes (causal band-pass, epochs, baseline, rejection), then k-fold
 * interleaved stratified cross-validation (the r-th flash of each class in recording order goes to
 * fold r mod k, a rule the MNE reference script repeats exactly); ROC AUC of the decoder's
 * target log-odds over all held-out flashes, and balanced accuracy of its decisions (log-odds > 0).
 */
export async function evaluateErp(o: ErpEvaluateOptions): Promise<ErpEvaluationResult> {
  const log = o.log ?? (() => {});
  const folds = o.folds ?? 5;
  const p = erpPreprocessingSchema.parse(o.preprocessing ?? {});
  const channels = MUSE_EEG_CHANNELS.length;
  const out: ErpPipelineResult[] = o.decoders.map((k) => ({ pipeline: k, subjects: [], meanAuc: 0, meanBalancedAccuracy: 0 }));
  for (const subject of o.subjects) {
    const { kept, rejected } = await subjectFlashes(o.dataset, o.dataDir, subject, p);
    const labels = kept.map((f) => f.label);
    const truth = labels.map((l) => l === TARGET);
    const splits = interleavedStratifiedFolds(labels, folds);
    for (const [k, kind] of o.decoders.entries()) {
      const spec = erpDecoderSpec.parse({ kind, ...(o.components !== undefined ? { components: o.components } : {}) });
      const scores = new Array<number>(kept.length);
      for (const split of splits) {
        const decoder = fitErpDecoder(
          spec,
          split.train.map((i) => kept[i]),
          split.train.map((i) => labels[i]),
          channels,
          p.decimate,
        );
        for (const i of split.test) scores[i] = decoder.score(kept[i]);
      }
      const auc = rocAuc(truth, scores);
      const bacc = balancedAccuracy(
        truth,
        scores.map((s) => s > 0),
      );
      const targets = truth.filter(Boolean).length;
      out[k].subjects.push({ subject, flashes: kept.length, targets, rejected, auc, balancedAccuracy: bacc });
      log(`${o.dataset} subject ${subject} ${kind}: AUC ${auc.toFixed(3)}, balanced accuracy ${bacc.toFixed(3)} (${kept.length} flashes, ${targets} ${TARGET}, ${rejected} rejected)`);
    }
  }
  for (const r of out) {
    r.meanAuc = mean(r.subjects.map((s) => s.auc));
    r.meanBalancedAccuracy = mean(r.subjects.map((s) => s.balancedAccuracy));
  }
  const best = out.reduce((a, b) => (b.meanAuc > a.meanAuc ? b : a));
  const d = ERP_DATASETS[o.dataset];
  return {
    ...out[0],
    dataset: o.dataset,
    protocol: `${d.what} (marker ${d.target} vs ${d.nonTarget}), per subject, causal ${p.bandpass.low}-${p.bandpass.high} Hz order ${p.bandpass.order}, epochs ${p.epoch.tmin}..${p.epoch.tmax} s, baseline ${p.baseline ? `${p.epoch.tmin}..0 s` : 'none'}, ${p.reject === null ? 'no rejection' : `±${p.reject} µV rejection`}, features from 0 s decimated by ${p.decimate}, ${folds}-fold interleaved stratified CV`,
    pipelines: out,
    best: best.pipeline,
  };
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}
