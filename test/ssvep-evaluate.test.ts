import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../devices/datasets/eegmmidb.js';
import { evaluateSsvep, type SsvepDecoderName } from '../pipelines/ssvep/evaluate.js';

/** numpy/scipy reference on the same epochs and folds (test/fixtures/scripts/make_ssvep_reference.py). */
interface ReferenceEntry {
  subject: number;
  window: number;
  trials: number;
  trca: number;
  cca: Record<string, number>;
  fbcca: Record<string, number>;
}
const reference = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'ssvep-reference.json'), 'utf8')) as { results: ReferenceEntry[] };
const refOf = (subject: number, window: number, decoder: SsvepDecoderName, harmonics: number): number => {
  const e = reference.results.find((r) => r.subject === subject && r.window === window)!;
  return decoder === 'trca' ? e.trca : e[decoder][String(harmonics)];
};

describe('SSVEP evaluation on the Muse recordings against the numpy/scipy reference', () => {
  it.each([3, 1])(
    'window %d s: every decoder within 2 points of the reference per subject, the best at least the reference best',
    async (window) => {
      const decoders: SsvepDecoderName[] = ['cca', 'fbcca', 'trca'];
      const result = await evaluateSsvep({ dataDir: defaultDataDir(), subjects: [1, 3], decoders, window, harmonics: 2, folds: 5 });
      expect(result.pipelines.map((p) => p.pipeline)).toEqual(decoders);
      expect(result.pipeline).toBe('cca');
      for (const p of result.pipelines) {
        for (const s of p.subjects) {
          const ref = refOf(s.subject, window, p.pipeline as SsvepDecoderName, 2);
          expect(s.trials).toBe(reference.results.find((r) => r.subject === s.subject && r.window === window)!.trials);
          expect(Math.abs(s.accuracy - ref), `${p.pipeline} subject ${s.subject}`).toBeLessThanOrEqual(0.02);
        }
      }
      for (const subject of [1, 3]) {
        const ours = Math.max(...result.pipelines.map((p) => p.subjects.find((s) => s.subject === subject)!.accuracy));
        const theirs = Math.max(...decoders.map((d) => refOf(subject, window, d, 2)));
        expect(ours).toBeGreaterThanOrEqual(theirs - 1e-12);
      }
      if (window === 3) {
        // What the figures are (honestly): subject 1 near the 0.84-0.88 for CCA; subject 3 near chance.
        expect(result.pipelines[0].subjects[0].accuracy).toBeGreaterThan(0.84);
        expect(result.pipelines[0].subjects[1].accuracy).toBeLessThan(0.65);
      }
    },
    120_000,
  );

  it('harmonics 1 and 3 (CCA, FBCCA, 3 s): within 2 points of the reference', async () => {
    for (const harmonics of [1, 3]) {
      const result = await evaluateSsvep({ dataDir: defaultDataDir(), subjects: [1, 3], decoders: ['cca', 'fbcca'], window: 3, harmonics, folds: 5 });
      for (const p of result.pipelines) {
        for (const s of p.subjects) expect(Math.abs(s.accuracy - refOf(s.subject, 3, p.pipeline as SsvepDecoderName, harmonics))).toBeLessThanOrEqual(0.02);
      }
    }
  }, 120_000);
});
