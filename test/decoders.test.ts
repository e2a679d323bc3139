import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMotorImagery } from '../devices/synthetic/motor-imagery.js';
import { epochsFromRecording, preprocessingOf, trainModel } from '../pipelines/motor-imagery/calibrate.js';
import { evaluateMotorImagery, type EvaluateOptions } from '../pipelines/motor-imagery/evaluate.js';
import { MotorImageryModel } from '../pipelines/motor-imagery/model.js';
import { filterBank } from '../src/dsp/filter-bank.js';
import { bandpass } from '../src/dsp/filter-operators.js';
import type { Epoch } from '../src/dsp/epochs.js';
import { accuracy } from '../src/ml/cross-validation.js';
import { predictLabel } from '../src/ml/decoders/decoder.js';
import { decoderSpec, type DecoderSpecInput } from '../src/ml/decoders/decoder-spec.js';
import { fitDecoder, restoreDecoder } from '../src/ml/decoders/registry.js';
import { OvrCsp } from '../src/ml/csp-ovr.js';
import { mutualInformation } from '../src/ml/mutual-information.js';
import type { Chunk } from '../src/stream/types.js';
import { toChunks } from './helpers/chunks.js';
import { DATA_DIR, dataFile, FIXTURES } from './helpers/data.js';

const base = { reference: 'none' as const, notch: null, bandpass: { low: 8, high: 30, order: 4 }, epoch: { tmin: 0.5, tmax: 2.5 } };

async function syntheticEpochs(spec: DecoderSpecInput, seed: number, classes: ('left' | 'right' | 'feet')[], trialsPerClass: number): Promise<Epoch[]> {
  const rec = generateMotorImagery({ seed, trialsPerClass, classes });
  const events = Object.fromEntries(classes.map((c) => [c, c]));
  return epochsFromRecording(
    rec,
    rec.info.channels.map((c) => c.label),
    { ...preprocessingOf({ ...base, decoder: decoderSpec(spec) }), events, epoch: base.epoch },
  );
}

const tmp = mkdtempSync(path.join(tmpdir(), 'neurorx-decoders-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('decoders on synthetic motor imagery with a known answer (train one session, test another)', () => {
  const cases: [DecoderSpecInput, ('left' | 'right' | 'feet')[], number][] = [
    [{ kind: 'csp-lda' }, ['left', 'right'], 0.85],
    [{ kind: 'csp-ovr' }, ['left', 'right', 'feet'], 0.8],
    [
      {
        kind: 'fbcsp',
        bands: [
          { low: 8, high: 12 },
          { low: 12, high: 16 },
          { low: 16, high: 24 },
          { low: 24, high: 30 },
        ],
      },
      ['left', 'right'],
      0.7,
    ],
    [{ kind: 'mdm' }, ['left', 'right', 'feet'], 0.8],
    [{ kind: 'tangent-space-lr', reference: 'riemann' }, ['left', 'right', 'feet'], 0.8],
    [{ kind: 'tangent-space-lr', reference: 'riemann' }, ['left', 'right'], 0.75],
    [{ kind: 'tangent-space-lr', reference: 'euclid' }, ['left', 'right'], 0.75],
  ];
  for (const [spec, classes, floor] of cases) {
    it(`${JSON.stringify(spec)} on ${classes.join('/')}: accuracy >= ${floor}, and a saved model predicts identically`, async () => {
      const train = await syntheticEpochs(spec, 1, classes, 30);
      const test = await syntheticEpochs(spec, 7, classes, 15);
      const width = train[0].info.channels.length;
      const decoder = await fitDecoder(
        spec,
        train,
        train.map((e) => e.label),
        width,
      );
      expect(decoder.classes).toEqual([...classes].sort());
      const acc = accuracy(
        test.map((e) => e.label),
        test.map((e) => predictLabel(decoder, e)),
      );
      expect(acc).toBeGreaterThanOrEqual(floor);
      // Another session of the synthetic subject drifts: no decoder is perfect on it.
      expect(acc).toBeLessThan(1);
      const json = JSON.parse(JSON.stringify(decoder.toJSON())) as unknown;
      const restored = await restoreDecoder(json, 'test');
      for (const e of test.slice(0, 10)) expect(Array.from(restored.probabilities(e))).toEqual(Array.from(decoder.probabilities(e)));
    });
  }

  it('csp-lda refuses three classes and points to the multiclass decoders', async () => {
    const epochs = await syntheticEpochs({ kind: 'csp-lda' }, 1, ['left', 'right', 'feet'], 5);
    await expect(
      fitDecoder(
        'csp-lda',
        epochs,
        epochs.map((e) => e.label),
        19,
      ),
    ).rejects.toThrow(/two classes, got 3.*csp-ovr/);
  });

  it('a corrupt saved decoder is refused with the field named', async () => {
    const epochs = await syntheticEpochs({ kind: 'mdm' }, 1, ['left', 'right'], 10);
    const state = (
      await fitDecoder(
        'mdm',
        epochs,
        epochs.map((e) => e.label),
        19,
      )
    ).toJSON() as Record<string, unknown>;
    await expect(restoreDecoder({ ...state, covariance: { estimator: 'pca', recenterMean: null } }, 'm.json')).rejects.toThrow(/m\.json: decoder\.covariance\.estimator/);
    await expect(restoreDecoder({ kind: 'svm' }, 'm.json')).rejects.toThrow(/m\.json: decoder\.kind: .*one of csp-lda/);
  });

  it('re-centring adapts a Riemannian decoder to a session whose signal scale and mixing changed', async () => {
    const classes: ('left' | 'right')[] = ['left', 'right'];
    const train = await syntheticEpochs({ kind: 'tangent-space-lr' }, 1, classes, 30);
    // A "new session": same subject, every channel's gain changed (electrode impedances): C -> G C G.
    const gains = Float32Array.from({ length: 19 }, (_, c) => 0.4 + 0.15 * c);
    const shifted = (await syntheticEpochs({ kind: 'tangent-space-lr' }, 7, classes, 15)).map((e) => ({
      ...e,
      data: e.data.map((v, i) => v * gains[i % 19]),
    }));
    const labels = train.map((e) => e.label);
    const plain = await fitDecoder({ kind: 'tangent-space-lr' }, train, labels, 19);
    const adaptive = await fitDecoder({ kind: 'tangent-space-lr', recenter: true }, train, labels, 19);
    // Unsupervised: the new session's trials, labels unused.
    adaptive.recenterOn!(shifted);
    const truth = shifted.map((e) => e.label);
    const accPlain = accuracy(
      truth,
      shifted.map((e) => predictLabel(plain, e)),
    );
    const accAdaptive = accuracy(
      truth,
      shifted.map((e) => predictLabel(adaptive, e)),
    );
    // Unadapted, the new session's gains put every trial on one side (chance); re-centred, it decodes.
    expect(accPlain).toBeLessThanOrEqual(0.6);
    expect(accAdaptive).toBeGreaterThanOrEqual(0.75);
    const notAdaptive = await fitDecoder({ kind: 'mdm' }, train, labels, 19);
    expect(() => notAdaptive.recenterOn!(shifted)).toThrow(/trained without re-centring/);
  });
});

describe('multiclass CSP and FBCSP parts', () => {
  it('one-vs-rest CSP keeps the time axis in its CSP-space transform', async () => {
    const epochs = await syntheticEpochs({ kind: 'csp-ovr' }, 2, ['left', 'right', 'feet'], 10);
    const csp = OvrCsp.fit(
      epochs,
      epochs.map((e) => e.label),
      19,
      2,
    );
    expect(csp.components).toBe(6);
    const e = epochs[0];
    const signals = csp.transformSignals(e, 19);
    expect(signals).toHaveLength(e.samples * 6);
    // The log of the mean square of each projected time course is the log-power feature.
    const power = csp.logPower(e, 19);
    for (let j = 0; j < 6; j++) {
      let s = 0;
      for (let t = 0; t < e.samples; t++) s += signals[t * 6 + j] ** 2;
      expect(Math.log(s / e.samples)).toBeCloseTo(power[j], 4);
    }
  });

  it('mutual information is ~0 for an uninformative feature and ~log 2 for a separating one', () => {
    const labels = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'a' : 'b'));
    expect(
      mutualInformation(
        labels.map((l) => (l === 'a' ? 10 : -10)),
        labels,
      ),
    ).toBeCloseTo(Math.log(2), 3);
    expect(
      mutualInformation(
        labels.map((_, i) => Math.sin(i * 0.7)),
        labels,
      ),
    ).toBeLessThan(0.1);
  });

  it('the filter bank equals one band-pass per band, whatever the chunk size', async () => {
    const rec = generateMotorImagery({ seed: 3, trialsPerClass: 2 });
    const whole: Chunk = { info: rec.info, data: rec.data, samples: rec.samples, firstSample: 0, time: 0, markers: [], receivedAt: 0 };
    const bands = [
      { low: 8, high: 12 },
      { low: 20, high: 30 },
    ];
    const c = rec.info.channels.length;
    const banked = (await lastValueFrom(from(toChunks(rec.info, rec.data, 7)).pipe(filterBank(bands), toArray()))).flatMap((k) => Array.from(k.data));
    expect(banked).toHaveLength(rec.samples * c * 2);
    for (const [b, band] of bands.entries()) {
      const [single] = await lastValueFrom(from([whole]).pipe(bandpass(band), toArray()));
      for (let s = 0; s < rec.samples; s += 97) for (let ch = 0; ch < c; ch++) expect(banked[s * 2 * c + b * c + ch]).toBe(single.data[s * c + ch]);
    }
    const [first] = await lastValueFrom(from([whole]).pipe(filterBank(bands), toArray()));
    expect(first.info.channels[c].label).toBe(`${rec.info.channels[0].label}@20-30`);
  });
});

describe('a trained model saves and loads (versioned JSON)', () => {
  it('round-trips a tangent-space model and refuses a corrupt one naming the field', async () => {
    const rec = generateMotorImagery({ seed: 1, trialsPerClass: 20 });
    const channels = rec.info.channels.map((c) => c.label);
    const settings = { ...base, filterBank: null, decoder: decoderSpec({ kind: 'tangent-space-lr' }) };
    const epochs = await epochsFromRecording(rec, channels, { ...settings, events: { left: 'left', right: 'right' } });
    const model = await trainModel(epochs, channels, rec.info.sampleRate, settings);
    expect(model.file.calibrationAccuracy).toBeGreaterThan(0.8);
    const file = path.join(tmp, 'ts.json');
    await model.save(file);
    const loaded = await MotorImageryModel.load(file);
    expect(Array.from(loaded.probabilities(epochs[3]))).toEqual(Array.from(model.probabilities(epochs[3])));
    const json = JSON.parse(readFileSync(file, 'utf8')) as { decoder: { lr: { coef: unknown } } };
    json.decoder.lr.coef = 'oops';
    writeFileSync(file, JSON.stringify(json));
    await expect(MotorImageryModel.load(file)).rejects.toThrow(/decoder\.lr\.coef: /);
  });
});

describe('evaluation on EEGMMIDB subject 1 against MNE-Python + scikit-learn (fixture)', () => {
  const reference = JSON.parse(readFileSync(path.join(FIXTURES, 'mne-motor-imagery.json'), 'utf8')) as {
    results: {
      protocol: string;
      task: 'hands-feet' | 'left-right';
      runs: number[];
      band: number[];
      tmin: number;
      tmax: number;
      cspLda: { meanAccuracy: number; foldAccuracies: number[] };
      tangentSpaceLr: { meanAccuracy: number };
    }[];
  };
  for (const r of reference.results) {
    it(`${r.protocol} ${r.task}: CSP+LDA within 2 points of MNE's (${r.cspLda.meanAccuracy.toFixed(3)}), tangent space + LR within 2 points of the reference`, async (ctx) => {
      if (!dataFile('eegmmidb/S001/S001R04.edf')) return ctx.skip();
      const opts: EvaluateOptions = {
        dataset: 'eegmmidb',
        dataDir: DATA_DIR,
        subjects: [1],
        runs: r.runs,
        pipelines: [decoderSpec({ kind: 'csp-lda', shrinkage: null }), decoderSpec({ kind: 'tangent-space-lr', reference: 'riemann' }), decoderSpec({ kind: 'tangent-space-lr' })],
        band: { low: r.band[0], high: r.band[1], order: 4 },
        tmin: r.tmin,
        tmax: r.tmax,
        cv: { kind: 'kfold', folds: 5 },
      };
      const result = await evaluateMotorImagery(opts);
      const [csp, tsRiemann, tsDefault] = result.pipelines;
      expect(Math.abs(csp.meanAccuracy - r.cspLda.meanAccuracy)).toBeLessThanOrEqual(0.02);
      expect(Math.abs(tsRiemann.meanAccuracy - r.tangentSpaceLr.meanAccuracy)).toBeLessThanOrEqual(0.02);
      // The default tangent point (arithmetic mean) decides as the Riemannian one does here.
      expect(Math.abs(tsDefault.meanAccuracy - tsRiemann.meanAccuracy)).toBeLessThanOrEqual(0.02);
      if (r.protocol === 'moabb-like' && r.task === 'left-right') expect(tsDefault.meanAccuracy).toBeGreaterThanOrEqual(csp.meanAccuracy + 0.02);
    });
  }
});

describe('EEGNet behind the common decoder interface', () => {
  it('trains on synthetic imagery, saves its weights beside the model JSON and loads back identically', async () => {
    const rec = generateMotorImagery({ seed: 1, trialsPerClass: 30 });
    const channels = rec.info.channels.map((c) => c.label);
    const settings = { ...base, filterBank: null, epoch: { tmin: 0.5, tmax: 2.5 }, decoder: decoderSpec({ kind: 'eegnet', epochs: 40 }) };
    const epochs = await epochsFromRecording(rec, channels, { ...settings, events: { left: 'left', right: 'right' } });
    const model = await trainModel(epochs, channels, rec.info.sampleRate, settings);
    expect(model.decoder.kind).toBe('eegnet');
    const test = await syntheticEpochs({ kind: 'eegnet' }, 7, ['left', 'right'], 15);
    const acc = accuracy(
      test.map((e) => e.label),
      test.map((e) => predictLabel(model.decoder, e)),
    );
    expect(acc).toBeGreaterThanOrEqual(0.75);
    const file = path.join(tmp, 'eegnet.json');
    await model.save(file);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { decoder: { kind: string; model: string } };
    expect(saved.decoder).toMatchObject({ kind: 'eegnet', model: 'eegnet.eegnet' });
    const loaded = await MotorImageryModel.load(file);
    for (const e of test.slice(0, 5)) expect(Array.from(loaded.probabilities(e))).toEqual(Array.from(model.probabilities(e)));
    // A window that is not the trained length is refused with the reason.
    expect(() => loaded.probabilities({ data: test[0].data.subarray(0, 19 * 100), samples: 100 })).toThrow(/trained on 321-sample blocks, got 100/);
    model.decoder.dispose?.();
    loaded.decoder.dispose?.();
  }, 120_000);
});
