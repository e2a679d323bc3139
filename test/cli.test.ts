import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EmotionEvaluationResult } from '../pipelines/emotion/evaluate.js';
import type { MegEvaluationResult } from '../pipelines/meg/evaluate.js';
import type { EvaluationResult } from '../pipelines/motor-imagery/evaluate.js';
import type { InspectReport } from '../src/cli/inspect.js';
import { cli } from './helpers/cli.js';
import { dataFile } from './helpers/data.js';

/** The JSON result a command prints on its last stdout line, as the command's result type. */
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;

describe('neurorx CLI', () => {
  it('inspect --json summarises a synthetic recording on its last stdout line', async () => {
    const { stdout, code } = await cli('inspect', 'synthetic:motor-imagery?seed=1&trials=4', '--seconds', '10', '--json');
    expect(code).toBe(0);
    const report = lastJson<InspectReport>(stdout);
    expect(report.stream).toMatchObject({ type: 'EEG', sampleRate: 160 });
    expect(report.samples).toBe(1600);
    expect(report.dropped).toBe(0);
    expect(report.channels).toHaveLength(report.stream.channelCount);
    expect(report.markers.count).toBeGreaterThan(0);
    for (const c of report.channels) expect(c.std).toBeGreaterThan(1);
  });

  it('inspect reads an EDF file and counts its events', async (ctx) => {
    const file = dataFile('eegmmidb/S001/S001R04.edf');
    if (!file) return ctx.skip();
    const { stdout, code } = await cli('inspect', `file:${file}`, '--seconds', '125', '--json');
    expect(code).toBe(0);
    const report = lastJson<InspectReport>(stdout);
    expect(report.stream).toMatchObject({ channelCount: 64, sampleRate: 160 });
    expect(report.samples).toBe(20000);
    expect(report.markers.values).toEqual({ T0: 15, T1: 8, T2: 7 });
  });

  it('evaluate reaches the issue figure on eegmmidb subject 1, runs 6/10/14 (CSP+LDA, >= 0.90)', async (ctx) => {
    if (!dataFile('eegmmidb/S001/S001R14.edf')) return ctx.skip();
    const { stdout, code } = await cli('evaluate', '--dataset', 'eegmmidb', '--subjects', '1', '--runs', '6,10,14', '--pipeline', 'csp-lda', '--cv', 'shuffle', '--json');
    expect(code).toBe(0);
    const result = lastJson<EvaluationResult>(stdout);
    expect(result.subjects).toHaveLength(1);
    expect(result.subjects[0].trials).toBe(45);
    expect(result.subjects[0].foldAccuracies).toHaveLength(10);
    expect(result.meanAccuracy).toBeGreaterThanOrEqual(0.9);
  }, 60_000);

  it('evaluate compares several decoders on left/right imagery and names the best (MOABB-like protocol)', async (ctx) => {
    if (!dataFile('eegmmidb/S001/S001R12.edf')) return ctx.skip();
    const { stdout, code } = await cli('evaluate', '--subjects', '1', '--task', 'left-right', '--pipeline', 'csp-lda,tangent-space-lr', '--band', '8,32', '--tmin', '0', '--tmax', '3', '--json');
    expect(code).toBe(0);
    const result = lastJson<EvaluationResult>(stdout);
    expect(result.pipelines.map((p: { pipeline: string }) => p.pipeline)).toEqual(['csp-lda', 'tangent-space-lr']);
    const [csp, ts] = result.pipelines;
    expect(csp.subjects[0].foldAccuracies).toHaveLength(5);
    expect(ts.meanAccuracy).toBeGreaterThanOrEqual(csp.meanAccuracy + 0.02);
    expect(ts.meanKappa).toBeGreaterThan(0.5);
    expect(result.best).toBe('tangent-space-lr');
    expect(result.protocol).toMatch(/5-fold interleaved stratified CV; runs 4,8,12; band 8-32 Hz/);
  }, 60_000);

  it('rejects a bad config naming the field, and a bad flag naming the flag', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-cli-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ source: { uri: 'synthetic:motor-imagery' }, pipeline: { kind: 'motor-imagery', window: { length: -2, hop: 0.25 }, calibration: { from: 'stream', trialsPerClass: 5 } } }),
    );
    const bad = await cli('run', file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}: invalid config`);
    expect(bad.stderr).toMatch(/pipeline\.window\.length: Too small: expected number to be >0/);

    const flag = await cli('evaluate', '--dataset', 'synthetic', '--folds', 'ten');
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain('--folds must be a number, got "ten"');
    const pipeline = await cli('evaluate', '--dataset', 'synthetic', '--pipeline', 'csp-lda,svm');
    expect(pipeline.code).not.toBe(0);
    expect(pipeline.stderr).toMatch(/--pipeline: unknown decoder "svm" \(available: csp-lda, csp-ovr, fbcsp, mdm, tangent-space-lr, eegnet\)/);
  });

  it('evaluate --pipeline emotion-linear scores held-out simulated subjects and reports chance and macro F1', async () => {
    const { stdout, code, stderr } = await cli('evaluate', '--pipeline', 'emotion-linear', '--dataset', 'synthetic-emotion', '--subjects', '1-4', '--folds', '2', '--target', 'arousal', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const r = lastJson<EmotionEvaluationResult>(stdout);
    expect(r).toMatchObject({ dataset: 'synthetic-emotion', target: 'arousal', classes: ['low', 'high'], pipeline: 'emotion-linear', best: 'emotion-linear' });
    expect(r.subjects.map((s: { subject: string }) => s.subject)).toEqual(['1', '2', '3', '4']);
    expect(r.meanAccuracy).toBeGreaterThan(r.chance + 0.1);
    expect(r.macroF1).toBeGreaterThan(0.6);
    expect(r.uniformChance).toBe(0.5);
  }, 120_000);

  it('evaluate names what is wrong with an emotion request and where a licensed dataset must go', async () => {
    const target = await cli('evaluate', '--pipeline', 'emotion-linear', '--target', 'dominance');
    expect(target.code).not.toBe(0);
    expect(target.stderr).toContain('--target: "dominance" (available: valence, arousal)');
    const mixed = await cli('evaluate', '--pipeline', 'emotion-linear,csp-lda');
    expect(mixed.stderr).toMatch(/"csp-lda" is not an emotion decoder/);
    const missing = await cli('evaluate', '--pipeline', 'emotion-linear', '--dataset', 'dreamer', '--data', path.join(tmpdir(), 'no-such-dreamer.mat'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/DREAMER/);
  });

  it('evaluate --pipeline meg-ridge retrieves held-out synthetic images and prints top1, top5 and chance', async () => {
    const { stdout, code, stderr } = await cli(
      'evaluate',
      '--pipeline',
      'meg-ridge',
      '--dataset',
      'synthetic-meg',
      '--subjects',
      '1',
      '--images',
      '60',
      '--meg-channels',
      '32',
      '--rate',
      '200',
      '--repetitions',
      '2',
      '--json',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const r = lastJson<MegEvaluationResult>(stdout);
    expect(r).toMatchObject({ dataset: 'synthetic-meg', pipeline: 'meg-ridge', testImages: 12, best: 'meg-ridge' });
    expect(r.chance).toBeCloseTo(5 / 12, 12);
    expect(r.top5).toBeGreaterThan(r.chance);
    expect(r.top1).toBeLessThanOrEqual(r.top5);
    const bad = await cli('evaluate', '--pipeline', 'meg-ridge', '--dataset', 'things');
    expect(bad.stderr).toMatch(/--dataset: "things" is not a MEG dataset \(available: synthetic-meg, n170\)/);
  }, 60_000);
});
