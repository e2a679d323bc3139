import { describe, expect, it } from 'vitest';
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import { openSource, loadRecording } from '../devices/open-source.js';
import { generateSsvep } from '../devices/synthetic/ssvep.js';
import { CcaScorer } from '../src/ml/ssvep/cca.js';
import { subBandWeights } from '../src/ml/ssvep/fbcca.js';
import { Trca } from '../src/ml/ssvep/trca.js';
import { referenceSignals } from '../src/ml/ssvep/reference-signals.js';
import { markerEpochs } from '../src/dsp/epochs.js';
import { ssvepPipeline, type SsvepEvent } from '../pipelines/ssvep/pipeline.js';
import { ssvepSettingsSchema, type SsvepSettings } from '../pipelines/ssvep/settings.js';
import { ssvepFrontEnd } from '../pipelines/ssvep/front-end.js';
import { recordingChunk } from '../pipelines/ssvep/window-scorer.js';
import { ssvepPlugin } from '../pipelines/ssvep/plugin.js';
import { Random } from '../src/util/random.js';

const TARGETS = [
  { label: 'slow', frequency: 20, marker: '1', command: 'left' },
  { label: 'fast', frequency: 30, marker: '2', command: 'right' },
];

const settings = (over: Record<string, unknown> = {}): SsvepSettings => ssvepSettingsSchema.parse({ kind: 'ssvep', targets: TARGETS, bandpass: { low: 15, high: 45 }, ...over });

/** A window of `samples` x `channels` (sample-major): channel c = gain_c · sin at `f` (+ its 2nd harmonic) + noise. */
function sinusoidWindow(f: number, samples: number, channels: number, noise: number, seed = 1): Float32Array {
  const r = new Random(seed);
  const out = new Float32Array(samples * channels);
  for (let s = 0; s < samples; s++) {
    const t = s / 256;
    for (let c = 0; c < channels; c++) out[s * channels + c] = (c + 1) * (Math.sin(2 * Math.PI * f * t + c) + 0.5 * Math.cos(4 * Math.PI * f * t)) + noise * r.normal();
  }
  return out;
}

describe('SSVEP maths (src/ml/ssvep)', () => {
  it('CCA: a window made of the references correlates 1 with its target, a noisy one picks the right target', () => {
    const cca = new CcaScorer({ frequencies: [20, 30], harmonics: 2, samples: 512, sampleRate: 256 });
    const out = new Float64Array(2);
    const clean = sinusoidWindow(20, 512, 3, 0);
    cca.correlations(clean, 3, 0, 3, out);
    expect(out[0]).toBeCloseTo(1, 9);
    expect(out[1]).toBeLessThan(0.2);
    cca.correlations(sinusoidWindow(30, 512, 4, 3, 2), 4, 0, 4, out);
    expect(out[1]).toBeGreaterThan(out[0]);
  });

  it('CCA equals the canonical correlation from the definition (whitened cross-covariance), channels taken from a block', () => {
    const samples = 300;
    const x = sinusoidWindow(25, samples, 3, 1.5, 7);
    // The same 3 channels as the second block of a 6-wide window.
    const wide = new Float32Array(samples * 6);
    for (let s = 0; s < samples; s++) for (let c = 0; c < 3; c++) wide[s * 6 + 3 + c] = x[s * 3 + c];
    const cca = new CcaScorer({ frequencies: [25], harmonics: 1, samples, sampleRate: 256 });
    const a = cca.correlations(x, 3, 0, 3, new Float64Array(1))[0];
    const b = cca.correlations(wide, 6, 3, 3, new Float64Array(1))[0];
    expect(b).toBe(a);
    // Definition with 1 harmonic and 3 channels: max over x-weights of corr(Xw, Y) = sqrt(top eig of Cxx^-1 Cxy Cyy^-1 Cyx); brute force over w.
    const y = referenceSignals(25, 1, samples, 256);
    let best = 0;
    const r = new Random(3);
    const col = (m: (s: number) => number): number[] => Array.from({ length: samples }, (_, s) => m(s));
    const pearson = (u: number[], v: number[]): number => {
      const mu = u.reduce((p, q) => p + q) / u.length;
      const mv = v.reduce((p, q) => p + q) / v.length;
      let uv = 0;
      let uu = 0;
      let vv = 0;
      for (let i = 0; i < u.length; i++) {
        uv += (u[i] - mu) * (v[i] - mv);
        uu += (u[i] - mu) ** 2;
        vv += (v[i] - mv) ** 2;
      }
      return uv / Math.sqrt(uu * vv);
    };
    for (let trial = 0; trial < 4000; trial++) {
      const w = [r.normal(), r.normal(), r.normal()];
      const phi = r.uniform() * 2 * Math.PI;
      const u = col((s) => w[0] * x[s * 3] + w[1] * x[s * 3 + 1] + w[2] * x[s * 3 + 2]);
      const v = col((s) => Math.cos(phi) * y.get(s, 0) + Math.sin(phi) * y.get(s, 1));
      best = Math.max(best, pearson(u, v));
    }
    expect(a).toBeGreaterThanOrEqual(best - 1e-9);
    expect(a - best).toBeLessThan(0.03);
  });

  it('CCA: a flat window scores 0; a flat channel among live ones still scores', () => {
    const cca = new CcaScorer({ frequencies: [20, 30], harmonics: 2, samples: 256, sampleRate: 256 });
    expect(Array.from(cca.correlations(new Float32Array(256 * 2), 2, 0, 2, new Float64Array(2)))).toEqual([0, 0]);
    const x = sinusoidWindow(20, 256, 2, 0.5);
    for (let s = 0; s < 256; s++) x[s * 2 + 1] = 4;
    const out = cca.correlations(x, 2, 0, 2, new Float64Array(2));
    expect(out[0]).toBeGreaterThan(0.7);
    expect(out[0]).toBeGreaterThan(out[1]);
  });

  it('references refuse harmonics at or above Nyquist, naming them', () => {
    expect(() => referenceSignals(30, 5, 256, 256)).toThrow(/harmonic 5 of 30 Hz .* Nyquist/);
  });

  it('FBCCA weights n^-a + b', () => {
    expect(Array.from(subBandWeights(3, 1.25, 0.25))).toEqual([1.25, 2 ** -1.25 + 0.25, 3 ** -1.25 + 0.25]);
  });

  it('TRCA trained on synthetic trials classifies held-out ones; its filter maximises the trial-to-trial covariance', async () => {
    const train = generateSsvep({ seed: 1, trialsPerTarget: 12 });
    const test = generateSsvep({ seed: 2, trialsPerTarget: 8 });
    const s = settings();
    const cut = async (rec: typeof train) =>
      firstValueFrom(from([recordingChunk(rec)]).pipe(ssvepFrontEnd(['TP9', 'AF7', 'AF8', 'TP10'], s), markerEpochs({ events: { 1: 'slow', 2: 'fast' }, tmin: 0, tmax: 511 / 256 }), toArray()));
    const tr = await cut(train);
    const te = await cut(test);
    const trca = Trca.fit(
      tr,
      tr.map((e) => e.label),
      4,
      { ensemble: true },
    );
    expect(trca.state.classes).toEqual(['fast', 'slow']);
    const out = new Float64Array(2);
    const correct = te.filter((e) => trca.state.classes[out.indexOf(Math.max(...trca.correlations(e.data, 4, 0, out)))] === e.label).length;
    expect(correct / te.length).toBeGreaterThanOrEqual(0.9);
    expect(() => Trca.fit([tr[0]], ['slow'], 4, { ensemble: true })).toThrow(/two classes/);
  });
});

describe('SSVEP settings', () => {
  it('defaults: CCA, 2 harmonics, 2 s windows every 0.25 s, no idle rule', () => {
    const s = settings();
    expect(s.decoder).toEqual({ kind: 'cca' });
    expect(s.harmonics).toBe(2);
    expect(s.window).toEqual({ length: 2, hop: 0.25, align: 'sliding' });
    expect(s.decision).toEqual({ temperature: 0.05, threshold: 0, margin: 0 });
  });

  it.each([
    [{ targets: [{ label: 'a', frequency: 10 }] }, 'targets'],
    [
      {
        targets: [
          { label: 'a', frequency: 10 },
          { label: 'a', frequency: 12 },
        ],
      },
      'targets',
    ],
    [
      {
        targets: [
          { label: 'idle', frequency: 10 },
          { label: 'b', frequency: 12 },
        ],
      },
      'targets.0.label',
    ],
    [{ harmonics: 0 }, 'harmonics'],
    [{ window: { length: 0.1 } }, 'window.length'],
    [{ decision: { margin: 2 } }, 'decision.margin'],
    [{ decoder: { kind: 'fbcca', a: -1 } }, 'decoder.a'],
    [{ decoder: { kind: 'trca' } }, 'decoder.calibration'],
    [
      {
        decoder: { kind: 'trca', calibration: { from: 'recording', source: 'x' } },
        targets: [
          { label: 'a', frequency: 10 },
          { label: 'b', frequency: 12 },
        ],
      },
      'targets',
    ],
  ])('rejects %j, naming %s', (over, field) => {
    const r = ssvepSettingsSchema.safeParse({ kind: 'ssvep', targets: TARGETS, ...over });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });
});

async function decisionsOf(s: SsvepSettings, chunkSize: number, uri = 'synthetic:ssvep?seed=4&trials=4'): Promise<SsvepEvent[]> {
  const source = await openSource(uri, { speed: 'max', chunkSize });
  return lastValueFrom(ssvepPipeline(source, s).pipe(toArray()));
}

describe('SSVEP pipeline', () => {
  it.each(['cca', 'fbcca'])(
    '%s: the same decisions whatever the chunking (1..1000 samples)',
    async (kind) => {
      const s = settings({ decoder: { kind }, bandpass: { low: 15, high: 70 }, window: { length: 1, hop: 0.5 } });
      const strip = (events: SsvepEvent[]) => events.flatMap((e) => (e.kind === 'decision' ? [{ ...e.decision, latencyMs: 0 }] : []));
      const base = strip(await decisionsOf(s, 1));
      expect(base.length).toBeGreaterThan(40);
      for (const size of [7, 64, 1000]) expect(strip(await decisionsOf(s, size))).toEqual(base);
    },
    60_000,
  );

  it('stimulus-locked CCA decides each synthetic trial right, probabilities sum to 1, the command follows the target', async () => {
    const s = settings({ window: { length: 2, align: 'stimulus' } });
    const events = await decisionsOf(s, 32);
    const decisions = events.flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
    const rec = await loadRecording('synthetic:ssvep?seed=4&trials=4');
    expect(decisions).toHaveLength(rec.markers.length);
    decisions.forEach((d, i) => {
      expect(d.label).toBe(rec.markers[i].value === '1' ? 'slow' : 'fast');
      expect(d.command).toBe(rec.markers[i].value === '1' ? 'left' : 'right');
      expect(d.probabilities.slow + d.probabilities.fast).toBeCloseTo(1, 12);
      expect(d.timestamp).toBeCloseTo(rec.markers[i].time + 511 / 256, 9);
    });
    expect(events[0]).toMatchObject({ kind: 'status', state: 'running' });
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: 'stopped' });
  }, 30_000);

  it('idle: between trials and with a demanding margin, the decision is "idle" with no command', async () => {
    const s = settings({ window: { length: 1, hop: 0.25 }, decision: { margin: 0.25, threshold: 0.3 } });
    const decisions = (await decisionsOf(s, 64)).flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
    const idle = decisions.filter((d) => d.label === 'idle');
    expect(idle.length).toBeGreaterThan(0);
    expect(idle.length).toBeLessThan(decisions.length);
    for (const d of idle) {
      expect(d.command).toBeUndefined();
      const [a, b] = Object.values(d.scores).sort((x, y) => y - x);
      expect(a < 0.3 || a - b < 0.25).toBe(true);
    }
    const huge = settings({ decision: { margin: 1 } });
    const all = (await decisionsOf(huge, 256)).flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
    expect(all.every((d) => d.label === 'idle' && d.command === undefined)).toBe(true);
  }, 30_000);

  it('TRCA calibrated on one synthetic recording decodes another, stimulus-locked', async () => {
    const s = settings({ window: { length: 2, align: 'stimulus' }, decoder: { kind: 'trca', calibration: { from: 'recording', source: 'synthetic:ssvep?seed=11&trials=10' } } });
    const decisions = (await decisionsOf(s, 50)).flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
    const rec = await loadRecording('synthetic:ssvep?seed=4&trials=4');
    const right = decisions.filter((d, i) => d.label === (rec.markers[i].value === '1' ? 'slow' : 'fast')).length;
    expect(right / decisions.length).toBeGreaterThanOrEqual(0.85);
  }, 30_000);

  it('the plug-in is registered under "ssvep" and replays with its own settings', async () => {
    const { pipelineRegistry } = await import('../pipelines/registry.js');
    expect(pipelineRegistry.get('ssvep')).toBe(ssvepPlugin);
    expect(pipelineRegistry.evaluatorOf('fbcca')).toBe(ssvepPlugin);
    const s = settings();
    expect(ssvepPlugin.forReplay!(s, undefined, 'x')).toBe(s);
  });

  it('a too short calibration-free window for the harmonics is an error naming the fields', async () => {
    const s = settings({ harmonics: 5, bandpass: { low: 15, high: 45 } });
    await expect(decisionsOf(s, 64)).rejects.toThrow(/targets\/harmonics\/window: .*Nyquist/);
  });
});
