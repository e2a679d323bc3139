import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ControlSettings, controlSchema, parseControlSettings } from '../src/control/control-settings.js';
import { CommandGate, type ControlledDecision, confidentClass, controlDecisions, DecisionController } from '../src/control/controlled-decisions.js';
import { ProbabilitySmoother } from '../src/control/smoothing.js';
import type { Decision } from '../src/stream/decision.js';
import { Random } from '../src/util/random.js';

/** Settings from the schema defaults plus overrides (so the tests also exercise the schema). */
function settings(overrides: Record<string, unknown> = {}): ControlSettings {
  return controlSchema.parse({ commands: { left: 'hand.open', right: 'hand.close' }, ...overrides });
}

/** Raw smoothing off, so the gate sees each scripted decision as is. */
const raw = { smoothing: { kind: 'none' } };

/**
 * Decisions for a two-class decoder, one per 0.25 s hop, timestamped like sliding windows of 2 s at
 * 100 Hz (end of window k at sample 199 + 25k). Each entry is p(left); p(right) is the rest.
 */
function decisions(pLeft: number[], timestamp = (k: number) => (199 + 25 * k) / 100): Decision[] {
  return pLeft.map((p, k) => ({
    seq: k,
    label: p >= 0.5 ? 'left' : 'right',
    probabilities: { left: p, right: 1 - p },
    timestamp: timestamp(k),
    latencyMs: 1,
  }));
}

async function run(ds: Decision[], s: ControlSettings): Promise<ControlledDecision[]> {
  return lastValueFrom(from(ds).pipe(controlDecisions(s), toArray()));
}

const firedAt = (out: ControlledDecision[]): number[] => out.flatMap((d, i) => (d.command !== undefined ? [i] : []));

const L = 0.9; // confident left
const R = 0.1; // confident right
const U = 0.55; // unsure: top 0.55 < threshold 0.6

describe('confidence threshold', () => {
  it('outputs the rest label below threshold or margin, the top class otherwise', async () => {
    const out = await run(decisions([U, 0.45, L, R, 0.6]), settings({ ...raw, dwellMs: 10_000 }));
    expect(out.map((d) => d.label)).toEqual(['rest', 'rest', 'left', 'right', 'left']);
    expect(out.map((d) => d.state)).toEqual(['rest', 'rest', 'dwelling', 'dwelling', 'dwelling']);
    expect(out.map((d) => d.candidate)).toEqual([null, null, 'left', 'right', 'left']);
    // the decoder's own fields pass through untouched
    expect(out[0].probabilities).toEqual({ left: U, right: 1 - U });
    expect(out[0].seq).toBe(0);
    expect(out[0].timestamp).toBe(1.99);

    const three = { a: 0.5, b: 0.4, c: 0.1 };
    expect(confidentClass(three, 0.3, 0.2, 'rest')).toBeNull(); // lead 0.1 < margin 0.2
    expect(confidentClass(three, 0.3, 0.05, 'rest')).toBe('a');
    expect(confidentClass(three, 0.55, 0, 'rest')).toBeNull(); // below threshold
    expect(confidentClass({ a: 0.5, b: 0.5 }, 0.5, 0, 'rest')).toBeNull(); // a tie is no decision
    expect(confidentClass({ rest: 0.8, a: 0.2 }, 0.5, 0, 'rest')).toBeNull(); // a decoder rest class
    expect(confidentClass({ idle: 0.2, a: 0.8 }, 0.5, 0, 'idle')).toBe('a');
    expect(confidentClass({}, 0, 0, 'rest')).toBeNull();
  });

  it('uses the configured rest label', async () => {
    const out = await run(decisions([U]), settings({ ...raw, restLabel: 'idle' }));
    expect(out[0].label).toBe('idle');
  });
});

describe('dwell', () => {
  it('fires exactly when the class has persisted for dwellMs of stream time', async () => {
    // 4 unsure decisions, then left from index 4: 1000 ms of dwell is reached at index 8.
    const out = await run(decisions([U, U, U, U, L, L, L, L, L, L, L]), settings({ ...raw, dwellMs: 1000 }));
    expect(firedAt(out)).toEqual([8]);
    expect(out[8].command).toBe('hand.open');
    expect(out[8].state).toBe('fired');
    expect(out[8].candidate).toBe('left');
    expect(out.map((d) => d.state)).toEqual(['rest', 'rest', 'rest', 'rest', 'dwelling', 'dwelling', 'dwelling', 'dwelling', 'fired', 'refractory', 'refractory']);
    // `command` is present only on the firing decision
    expect(out.filter((d) => 'command' in d)).toHaveLength(1);

    // dwell 750 ms -> index 7; dwell 0 -> the first confident decision
    expect(firedAt(await run(decisions([U, U, U, U, L, L, L, L, L]), settings({ ...raw, dwellMs: 750 })))).toEqual([7]);
    expect(firedAt(await run(decisions([U, U, U, U, L, L, L, L, L]), settings({ ...raw, dwellMs: 0 })))).toEqual([4]);
  });

  it('counts floating-point stream time with a small slack', async () => {
    // Timestamps accumulated from 0.1 s hops: t10 - t0 = 999.9999999999999 ms, which is 1000.
    const times: number[] = [];
    for (let k = 0, t = 0; k < 12; k++, t += 0.1) times.push(t);
    expect((times[10] - times[0]) * 1000).toBeLessThan(1000);
    const out = await run(
      decisions(new Array<number>(12).fill(L), (k) => times[k]),
      settings({ ...raw, dwellMs: 1000 }),
    );
    expect(firedAt(out)).toEqual([10]);
  });

  it('restarts when another class or rest interrupts', async () => {
    const s = settings({ ...raw, dwellMs: 1000 });
    // left 0..2, right at 3, left again from 4: fires at 4 + 4 = 8, not at 4
    expect(firedAt(await run(decisions([L, L, L, R, L, L, L, L, L, L]), s))).toEqual([8]);
    // an unsure (rest) decision interrupts the same way
    expect(firedAt(await run(decisions([L, L, L, U, L, L, L, L, L, L]), s))).toEqual([8]);
    // interruption every 4th decision: never fires
    expect(firedAt(await run(decisions([L, L, L, R, L, L, L, R, L, L, L, U, L, L, L]), s))).toEqual([]);
  });
});

describe('refractory period and rearm', () => {
  it('suppresses a second fire within refractoryMs and allows it after', async () => {
    const s = settings({ ...raw, dwellMs: 500, refractoryMs: 2000, rearm: 'time' });
    // left fires at 2 (500 ms); right from 3 would be ready at 5 but waits out the period: 2 + 8 = 10
    const switched = await run(decisions([L, L, L, R, R, R, R, R, R, R, R, R]), s);
    expect(firedAt(switched)).toEqual([2, 10]);
    expect(switched[10].command).toBe('hand.close');
    expect(switched.slice(3, 10).every((d) => d.state === 'refractory' && d.candidate === 'right')).toBe(true);
    // a held class repeats every max(dwell, refractory) = 2000 ms
    expect(firedAt(await run(decisions(new Array<number>(20).fill(L)), s))).toEqual([2, 10, 18]);
    // rest during the refractory period is still reported as refractory
    const rested = await run(decisions([L, L, L, U, U, U, U, U, U, U, U]), s);
    expect(rested.map((d) => d.state).slice(3)).toEqual(['refractory', 'refractory', 'refractory', 'refractory', 'refractory', 'refractory', 'refractory', 'rest']);
    expect(rested[3].label).toBe('rest');
  });

  it('with rearm "rest" the same command waits for a rest; another command does not', async () => {
    const s = settings({ ...raw, dwellMs: 500, refractoryMs: 1000, rearm: 'rest' });
    const held = await run(decisions(new Array<number>(20).fill(L)), s);
    expect(firedAt(held)).toEqual([2]);
    expect(held[19].state).toBe('refractory'); // blocked, awaiting rest
    expect(held[19].candidate).toBe('left');

    // left fires at 2; a rest at 8; left again from 9 fires after its dwell, at 11
    expect(firedAt(await run(decisions([L, L, L, L, L, L, L, L, U, L, L, L, L]), s))).toEqual([2, 11]);
    // a different class fires without rest (once refractory is over), then left again does too
    const alternating = await run(decisions([L, L, L, R, R, R, R, R, R, L, L, L, L, L, L]), s);
    // right: dwell done at 5, refractory over at 6; left from 9: dwell done at 11
    expect(firedAt(alternating)).toEqual([2, 6, 11]);
    expect(alternating.filter((d) => d.command).map((d) => d.command)).toEqual(['hand.open', 'hand.close', 'hand.open']);

    // the same script under rearm "time" fires again once the refractory period allows
    expect(firedAt(await run(decisions(new Array<number>(20).fill(L)), { ...s, rearm: 'time' }))).toEqual([2, 6, 10, 14, 18]);
  });
});

describe('command mapping', () => {
  it('fires nothing for an unmapped label', async () => {
    const s = settings({ ...raw, dwellMs: 500, commands: { left: 'hand.open' } });
    const out = await run(decisions([R, R, R, R, R, R, R, R, L, L, L, L]), s);
    expect(out.slice(0, 8).every((d) => d.state === 'dwelling' && d.candidate === 'right' && !('command' in d))).toBe(true);
    expect(firedAt(out)).toEqual([10]); // the unmapped class interrupts left like any other
    expect(out[10].command).toBe('hand.open');
    expect(firedAt(await run(decisions(new Array<number>(12).fill(L)), settings({ ...raw, commands: {} })))).toEqual([]);
  });
});

describe('smoothing', () => {
  it('EMA matches the closed form', () => {
    const alpha = 0.3;
    const rng = new Random(7);
    const ps = Array.from({ length: 30 }, () => rng.uniform());
    const smoother = new ProbabilitySmoother({ kind: 'ema', alpha, window: 1 });
    ps.forEach((p, t) => {
      const s = smoother.smooth({ left: p, right: 1 - p });
      // s_t = (1 - a)^t p_0 + sum_{i=1..t} a (1 - a)^(t - i) p_i
      let expected = (1 - alpha) ** t * ps[0];
      for (let i = 1; i <= t; i++) expected += alpha * (1 - alpha) ** (t - i) * ps[i];
      expect(s.left).toBeCloseTo(expected, 12);
      expect(s.left + s.right).toBeCloseTo(1, 12);
    });

    // a step from 0.2 to 0.9: s_t = 0.9 + (0.2 - 0.9)(1 - a)^t
    const step = new ProbabilitySmoother({ kind: 'ema', alpha, window: 1 });
    for (let t = 0; t < 10; t++) {
      const p = t === 0 ? 0.2 : 0.9;
      expect(step.smooth({ left: p, right: 1 - p }).left).toBeCloseTo(0.9 - 0.7 * (1 - alpha) ** t, 12);
    }
  });

  it('moving mean averages the last N decisions, fewer at the start', () => {
    const ps = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2];
    const smoother = new ProbabilitySmoother({ kind: 'mean', alpha: 1, window: 3 });
    ps.forEach((p, t) => {
      const last = ps.slice(Math.max(0, t - 2), t + 1);
      const mean = last.reduce((a, b) => a + b, 0) / last.length;
      expect(smoother.smooth({ left: p, right: 1 - p }).left).toBeCloseTo(mean, 12);
    });
  });

  it('renormalises, copes with classes coming and going and with bad values', () => {
    const ema = new ProbabilitySmoother({ kind: 'ema', alpha: 0.5, window: 1 });
    expect(ema.smooth({ a: 2, b: 6 })).toEqual({ a: 0.25, b: 0.75 }); // scaled input renormalised
    const s = ema.smooth({ a: 0.5, c: 0.5 }); // b missing (0), c new (was 0)
    expect(s.a).toBeCloseTo(0.375, 12);
    expect(s.b).toBeCloseTo(0.375, 12);
    expect(s.c).toBeCloseTo(0.25, 12);
    const bad = ema.smooth({ a: Number.NaN, b: -1, c: 1 }); // bad values count as 0
    expect(Object.values(bad).every(Number.isFinite)).toBe(true);
    expect(bad.a + bad.b + bad.c).toBeCloseTo(1, 12);
    ema.reset();
    expect(ema.smooth({ x: 1 })).toEqual({ x: 1 });
    expect(new ProbabilitySmoother({ kind: 'none', alpha: 1, window: 1 }).smooth({ a: 1, b: 3 })).toEqual({ a: 0.25, b: 0.75 });
  });

  it('smoothing feeds the threshold: a lone confident window after unsure ones stays rest', async () => {
    // EMA 0.3 of p(left) 0.5, 0.5, 0.8, 0.8 -> 0.5, 0.5, 0.59, 0.653: confident only at index 3
    const out = await run(decisions([0.5, 0.5, 0.8, 0.8]), settings({ smoothing: { kind: 'ema', alpha: 0.3 }, dwellMs: 0 }));
    expect(out[2].smoothed.left).toBeCloseTo(0.59, 12);
    expect(out[3].smoothed.left).toBeCloseTo(0.653, 12);
    expect(out.map((d) => d.label)).toEqual(['rest', 'rest', 'rest', 'left']);
    const none = await run(decisions([0.5, 0.5, 0.8, 0.8]), settings({ ...raw, dwellMs: 0 }));
    expect(none.map((d) => d.label)).toEqual(['rest', 'rest', 'left', 'left']);
    const mean = await run(decisions([0.5, 0.65, 0.95]), settings({ smoothing: { kind: 'mean', window: 2 }, dwellMs: 0 }));
    expect(mean.map((d) => d.label)).toEqual(['rest', 'rest', 'left']); // (0.5+0.65)/2 < 0.6; (0.65+0.95)/2 = 0.8
  });
});

describe('noisy decisions', () => {
  it('gives far fewer commands than raw label changes', async () => {
    // 10 blocks of 5 s (20 decisions) of alternating intent, left first. Each decision is confident
    // (0.7..0.95 for its class) but exactly 20% of them, 4 per block at seeded random places, are
    // flipped to the other class.
    const rng = new Random(42);
    const blocks = 10;
    const perBlock = 20;
    const pLeft: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const flipped = new Set(rng.shuffle(Array.from({ length: perBlock }, (_, i) => i)).slice(0, perBlock / 5));
      for (let i = 0; i < perBlock; i++) {
        const p = 0.7 + 0.25 * rng.uniform();
        pLeft.push((b % 2 === 0) !== flipped.has(i) ? p : 1 - p);
      }
    }
    const ds = decisions(pLeft);
    let rawChanges = 0;
    for (let k = 1; k < ds.length; k++) if (ds[k].label !== ds[k - 1].label) rawChanges++;
    expect(rawChanges).toBe(68);

    // no control at all: every raw label change (and the first decision) fires
    const bare = settings({ ...raw, threshold: 0, dwellMs: 0, refractoryMs: 0, rearm: 'rest' });
    expect(firedAt(await run(ds, bare))).toHaveLength(rawChanges + 1);

    const intended = (i: number) => (Math.floor(i / perBlock) % 2 === 0 ? 'hand.open' : 'hand.close');
    /** Commands fired, checked to match the block's intent, with repeats of the same command collapsed. */
    const check = (out: ControlledDecision[]) => {
      const fired = firedAt(out);
      expect(fired.filter((i) => out[i].command !== intended(i))).toEqual([]); // no wrong command at all
      const blocksHit = new Set(fired.map((i) => Math.floor(i / perBlock)));
      expect(blocksHit.size).toBe(blocks); // and every change of intent is followed
      const switches = fired.filter((i, n) => n === 0 || out[i].command !== out[fired[n - 1]].command);
      expect(switches).toHaveLength(blocks);
      return fired;
    };

    // defaults (EMA 0.3, threshold 0.6, dwell 500 ms, refractory 1000 ms, rearm on rest):
    // 18 commands for 68 raw label changes; the 8 extra ones repeat the intended command after the
    // smoothed probability dipped to rest (which rearms it)
    expect(check(await run(ds, settings()))).toEqual([2, 8, 12, 23, 27, 49, 54, 74, 87, 97, 105, 126, 147, 154, 167, 176, 185, 197]);
    // heavier smoothing and a longer dwell: 12
    expect(check(await run(ds, settings({ smoothing: { alpha: 0.2 }, dwellMs: 750 })))).toHaveLength(12);
  });
});

describe('subscriptions, replays and time going backwards', () => {
  it('gives each subscription fresh state', async () => {
    const source = from(decisions([U, L, L, L, L, L, L]));
    const controlled = source.pipe(controlDecisions(settings({ ...raw, dwellMs: 500 })));
    const first = await lastValueFrom(controlled.pipe(toArray()));
    const second = await lastValueFrom(controlled.pipe(toArray()));
    expect(firedAt(first)).toEqual([3]);
    expect(second).toEqual(first);
  });

  it('resets when stream time goes backwards (a replay loop restarting)', async () => {
    const s = settings({ smoothing: { kind: 'ema', alpha: 0.3 }, dwellMs: 500, refractoryMs: 5000 });
    const pass = decisions([U, L, L, L, L, L, L, L]);
    const once = await run(pass, s);
    const looped = await run([...pass, ...pass.map((d) => ({ ...d, seq: d.seq + pass.length }))], s);
    // without the reset the second pass would be refractory (5 s) and awaiting rest; instead it repeats the first
    const strip = (d: ControlledDecision) => ({ ...d, seq: 0 });
    expect(looped.slice(pass.length).map(strip)).toEqual(once.map(strip));
    expect(firedAt(looped)).toEqual([...firedAt(once), ...firedAt(once).map((i) => i + pass.length)]);
    expect(firedAt(once)).toHaveLength(1);
  });

  it('treats a non-finite timestamp as an interruption that cannot fire', () => {
    const c = new DecisionController(settings({ ...raw, dwellMs: 500 }));
    const ds = decisions([L, L, L, L, L, L]);
    expect(c.process(ds[0]).state).toBe('dwelling');
    expect(c.process(ds[1]).state).toBe('dwelling');
    const nan = c.process({ ...ds[2], timestamp: Number.NaN });
    expect(nan.state).toBe('rest');
    expect(nan.label).toBe('rest');
    expect(c.process(ds[3]).state).toBe('dwelling'); // run restarted at 3
    expect(c.process(ds[4]).state).toBe('dwelling');
    expect(c.process(ds[5]).command).toBe('hand.open');
  });

  it('passes a stream error through', async () => {
    const { throwError } = await import('rxjs');
    await expect(lastValueFrom(throwError(() => new Error('boom')).pipe(controlDecisions(settings())))).rejects.toThrow('boom');
  });
});

describe('CommandGate (without RxJS)', () => {
  it('steps through dwell, fire, refractory and rearm', () => {
    const gate = new CommandGate({ dwellMs: 500, refractoryMs: 1000, rearm: 'rest', commands: { a: 'go' } });
    const script: [string | null, number][] = [
      ['a', 0],
      ['a', 250],
      ['a', 500],
      ['a', 750],
      [null, 1000],
      ['a', 1250],
      ['a', 1500],
      ['a', 1750],
    ];
    const states = script.map(([label, t]) => [gate.step(label, t), gate.command]);
    expect(states).toEqual([
      ['dwelling', undefined],
      ['dwelling', undefined],
      ['fired', 'go'],
      ['refractory', undefined],
      ['refractory', undefined], // rest within the refractory period (it rearms 'go')
      ['refractory', undefined], // a new run starts at 1250, still within the period
      ['dwelling', undefined], // period over at 1500; 250 ms of dwell
      ['fired', 'go'], // 500 ms of dwell
    ]);
    expect(gate.step('a', 100)).toBe('dwelling'); // time went back: a fresh gate
    gate.reset();
    expect(gate.state).toBe('rest');
    expect(gate.candidate).toBeNull();
  });
});

describe('control settings schema', () => {
  it('fills in defaults', () => {
    expect(controlSchema.parse({})).toEqual({
      smoothing: { kind: 'ema', alpha: 0.3, window: 4 },
      threshold: 0.6,
      margin: 0,
      restLabel: 'rest',
      dwellMs: 500,
      refractoryMs: 1000,
      rearm: 'rest',
      commands: {},
    });
    expect(controlSchema.parse({ smoothing: { kind: 'mean' } }).smoothing).toEqual({ kind: 'mean', alpha: 0.3, window: 4 });
  });

  it('describes every field', () => {
    for (const [name, field] of Object.entries(controlSchema.shape)) expect(field.description, name).toBeTruthy();
    for (const [name, field] of Object.entries(controlSchema.shape.smoothing.unwrap().shape)) expect(field.description, name).toBeTruthy();
  });

  it('rejects bad values, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ threshold: 1.5 }, 'threshold'],
      [{ margin: -0.1 }, 'margin'],
      [{ smoothing: { alpha: 0 } }, 'smoothing.alpha'],
      [{ smoothing: { window: 2.5 } }, 'smoothing.window'],
      [{ smoothing: { kind: 'median' } }, 'smoothing.kind'],
      [{ dwellMs: -1 }, 'dwellMs'],
      [{ refractoryMs: 'long' }, 'refractoryMs'],
      [{ rearm: 'never' }, 'rearm'],
      [{ restLabel: '' }, 'restLabel'],
      [{ commands: { left: '' } }, 'commands.left'],
      [{ commands: { rest: 'stop' } }, 'commands.rest'],
    ];
    for (const [input, field] of cases) {
      const result = controlSchema.safeParse(input);
      expect(result.success, field).toBe(false);
      expect(
        result.error!.issues.map((i) => i.path.join('.')),
        field,
      ).toContain(field);
      expect(() => parseControlSettings(input)).toThrow(new RegExp(`^  ${field.replace('.', '\\.')}: `, 'm'));
    }
    expect(() => parseControlSettings({ treshold: 0.5 })).toThrow(/treshold/); // strict: a typo is named
    expect(() => controlDecisions({ ...settings(), threshold: 1.5 })).toThrow(/threshold/);
  });
});
