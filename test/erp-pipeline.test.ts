import { readFileSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { openSource } from '../devices/open-source.js';
import { evaluateErp, type ErpDataset } from '../pipelines/erp/evaluate.js';
import { erpModelFor } from '../pipelines/erp/model.js';
import { erpPipeline, type ErpEvent } from '../pipelines/erp/pipeline.js';
import { SelectionEvidence } from '../pipelines/erp/selection-evidence.js';
import { ERP_DECODER_KINDS, erpSettingsSchema } from '../pipelines/erp/settings.js';
import { pipelineRegistry } from '../pipelines/registry.js';
import { balancedAccuracy, rocAuc } from '../src/ml/binary-metrics.js';
import { Xdawn } from '../src/ml/xdawn.js';
import { Random } from '../src/util/random.js';
import { DATA_DIR, dataFile, FIXTURES } from './helpers/data.js';

interface ReferenceRow {
  subject: number;
  flashes: number;
  targets: number;
  rejected: number;
  decoders: Record<string, { auc: number; balancedAccuracy: number }>;
}
const reference = JSON.parse(readFileSync(`${FIXTURES}/mne-erp.json`, 'utf8')) as { datasets: Record<ErpDataset, ReferenceRow[]> };

describe('ERP metrics and xDAWN', () => {
  it('ROC AUC counts ties as half; balanced accuracy averages both recalls', () => {
    expect(rocAuc([false, false, true, true], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([false, true], [1, 1])).toBe(0.5);
    expect(balancedAccuracy([true, true, false, false, false, false], [true, false, false, false, false, true])).toBeCloseTo((0.5 + 0.75) / 2, 12);
  });

  it("xDAWN's first filter finds the channel mix that carries the evoked response", () => {
    const random = new Random(3);
    const pattern = [1, -0.5, 0, 0.25];
    const epochs = Array.from({ length: 200 }, (_, i) => {
      const data = new Float32Array(50 * 4);
      for (let s = 0; s < 50; s++) {
        const erp = i % 4 === 0 ? 3 * Math.sin((Math.PI * s) / 50) : 0;
        for (let c = 0; c < 4; c++) data[s * 4 + c] = erp * pattern[c] + random.normal();
      }
      return { data, samples: 50 };
    });
    const labels = epochs.map((_, i) => (i % 4 === 0 ? 'target' : 'non-target'));
    const x = Xdawn.fit(epochs, labels, 4, { components: 2, classes: ['target'] });
    const w = x.state.filters[0].slice(0, 4);
    expect(Math.hypot(...w)).toBeCloseTo(1, 12);
    // white noise: the best filter is the pattern itself (up to sign)
    const cos = Math.abs(w.reduce((a, v, c) => a + v * pattern[c], 0)) / Math.hypot(...pattern);
    expect(cos).toBeGreaterThan(0.97);
  });
});

describe('selection evidence (dynamic stopping)', () => {
  const items = { r1: ['A', 'B'], r2: ['C', 'D'], c1: ['A', 'C'], c2: ['B', 'D'] };
  it('decides the item whose flashes score as targets once its posterior passes the threshold', () => {
    const sel = new SelectionEvidence({ items, threshold: 0.9, maxRepetitions: 10, minRepetitions: 1 }, Math.log(1 / 3));
    // attended item: A (lit by r1 and c1)
    const score = (m: string): number => (m === 'r1' || m === 'c1' ? 1 : -2);
    const states = [];
    for (const m of ['r1', 'r2', 'c1', 'c2']) states.push(sel.add(m, score(m)));
    expect(states.slice(0, 3).every((s) => s.decided === undefined)).toBe(true);
    expect(states[3].decided).toBe('A');
    expect(states[3].posteriors.A).toBeGreaterThan(0.9);
    expect(states[3].repetitions).toBe(2);
  });

  it('decides after maxRepetitions when no item stands out, and starts afresh', () => {
    // every item is lit twice per row-and-column sequence: 4 flashes each after two sequences
    const sel = new SelectionEvidence({ items, threshold: 0.99, maxRepetitions: 4, minRepetitions: 1 }, 0);
    const out = ['r1', 'r2', 'c1', 'c2', 'r1', 'r2', 'c1', 'c2'].map((m) => sel.add(m, 0.01));
    expect(out.slice(0, 7).every((s) => s.decided === undefined)).toBe(true);
    expect(out[7].decided).toBeDefined();
    expect(sel.add('r1', 0).repetitions).toBe(0);
  });
});

describe(`ERP decoders against MNE + scikit-learn on the same folds (data: ${DATA_DIR})`, () => {
  for (const [dataset, subjects] of [
    ['muse-p300', [1, 2, 3, 4]],
    ['n170', [1, 2, 3]],
  ] as const) {
    it(`${dataset}: every decoder within 0.02 AUC of the reference of its kind, the best at least the reference's best`, async (ctx) => {
      if (!dataFile(`muse-visual/${dataset === 'n170' ? 'N170' : 'P300'}`)) return ctx.skip();
      const result = await evaluateErp({ dataset, dataDir: DATA_DIR, subjects, decoders: [...ERP_DECODER_KINDS] });
      expect(result.pipelines.map((p) => p.pipeline)).toEqual([...ERP_DECODER_KINDS]);
      expect(result.meanAuc).toBe(result.pipelines[0].meanAuc);
      for (const ref of reference.datasets[dataset]) {
        const mine = result.pipelines.map((p) => p.subjects.find((s) => s.subject === ref.subject)!);
        // the same flashes, rejections and classes as the reference's numpy epoching
        expect(mine[0]).toMatchObject({ flashes: ref.flashes, targets: ref.targets, rejected: ref.rejected });
        ERP_DECODER_KINDS.forEach((kind, k) => {
          expect(Math.abs(mine[k].auc - ref.decoders[kind].auc), `${dataset} subject ${ref.subject} ${kind} AUC ${mine[k].auc} vs ${ref.decoders[kind].auc}`).toBeLessThanOrEqual(0.02);
        });
        const best = (v: number[]): number => Math.max(...v);
        const refDecoders = Object.values(ref.decoders);
        expect(best(mine.map((s) => s.auc)) + 1e-9).toBeGreaterThanOrEqual(best(refDecoders.map((d) => d.auc)) - 0.005);
        if (dataset === 'n170') expect(best(mine.map((s) => s.balancedAccuracy)) + 1e-9).toBeGreaterThanOrEqual(best(refDecoders.map((d) => d.balancedAccuracy)) - 0.005);
      }
    }, 120_000);
  }
});

describe('the erp pipeline on a Muse P300 replay', () => {
  const train = 'muse-visual/P300/subject1/session1/data_2017-02-04-15_45_13.csv';
  const test = 'muse-visual/P300/subject1/session1/data_2017-02-04-15_47_49.csv';

  it('is registered, with its messages and decoders', () => {
    const p = pipelineRegistry.get('erp');
    expect(Object.keys(p.messages ?? {})).toEqual(['erp-score', 'erp-evidence']);
    expect(pipelineRegistry.evaluatorOf('erp-xdawn-ts-lr')).toBe(p);
  });

  it('scores every flash, the same for any chunking, and decides the target item of a selection', async (ctx) => {
    const trainFile = dataFile(train);
    const testFile = dataFile(test);
    if (!trainFile || !testFile) return ctx.skip();
    const settings = erpSettingsSchema.parse({
      kind: 'erp',
      decoder: { kind: 'erp-xdawn-ts-lr' },
      selection: { items: { '1': 'non-target image', '2': 'target image' }, threshold: 0.95, maxRepetitions: 10 },
      calibration: { from: 'recording', source: `file:${trainFile}` },
    });
    const model = erpModelFor(settings);
    const run = async (chunk: number): Promise<ErpEvent[]> => lastValueFrom(erpPipeline(await openSource(`file:${testFile}?speed=max&chunk=${chunk}`), settings, model).pipe(toArray()));
    const a = await run(7);
    const b = await run(256);
    const strip = (events: ErpEvent[]): unknown[] => events.map((e) => (e.kind === 'score' ? { ...e.score, latencyMs: 0 } : e.kind === 'decision' ? { ...e.decision, latencyMs: 0 } : e));
    expect(strip(b)).toEqual(strip(a));
    const scores = a.flatMap((e) => (e.kind === 'score' ? [e.score] : []));
    expect(scores).toHaveLength(191); // 163 + 28 markers, all with a complete epoch
    const kept = scores.filter((s) => !s.rejected);
    const auc = rocAuc(
      kept.map((s) => s.marker === '2'),
      kept.map((s) => s.score!),
    );
    expect(auc).toBeGreaterThan(0.7); // trained on one 2-minute run, tested on the next
    const decisions = a.flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
    expect(decisions.length).toBeGreaterThan(3);
    const right = decisions.filter((d) => d.label === 'target image').length;
    expect(right / decisions.length).toBeGreaterThan(0.75);
    expect(a.at(-1)).toMatchObject({ kind: 'status', state: 'stopped' });
  }, 60_000);
});
