/**
 * Digital Butterworth filter design as second-order sections (SOS), numerically equivalent to
 * SciPy's `scipy.signal.butter(order, cutoff, btype, output='sos', fs=fs)`.
 *
 * Written by hand: no maintained npm package reproduces SciPy's butter + zpk2sos chain (analog
 * prototype -> prewarped frequency transform in zero/pole/gain form -> bilinear transform ->
 * 'nearest' pairing into sections), and the tests compare against SciPy's coefficients directly
 * (test/fixtures/scipy-filters.json).
 *
 * Steps:
 * 1. analog Butterworth lowpass prototype: no zeros, N poles on the left half of the unit circle;
 * 2. prewarp the digital cutoff(s) so the bilinear transform lands them exactly where asked;
 * 3. lowpass -> lowpass / highpass / bandpass / bandstop transform in zpk form;
 * 4. bilinear transform s -> z (zeros at infinity go to z = -1);
 * 5. pair poles and zeros into biquads the way zpk2sos(pairing='nearest') does: the pole closest
 *    to the unit circle is placed last, each paired with its nearest zero(s), which keeps every
 *    section well conditioned. The overall gain goes into the first section.
 *
 * Design runs once per stream, so it favours clarity over speed (small complex-number objects).
 */

export type ButterworthType = 'lowpass' | 'highpass' | 'bandpass' | 'bandstop';

const BTYPES: readonly ButterworthType[] = ['lowpass', 'highpass', 'bandpass', 'bandstop'];

/** Design-time complex number. */
interface Complex {
  re: number;
  im: number;
}

const cx = (re: number, im = 0): Complex => ({ re, im });
const add = (a: Complex, b: Complex): Complex => cx(a.re + b.re, a.im + b.im);
const sub = (a: Complex, b: Complex): Complex => cx(a.re - b.re, a.im - b.im);
const mul = (a: Complex, b: Complex): Complex => cx(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
const scale = (a: Complex, s: number): Complex => cx(a.re * s, a.im * s);
const conj = (a: Complex): Complex => cx(a.re, -a.im);
const abs = (a: Complex): number => Math.hypot(a.re, a.im);

function div(a: Complex, b: Complex): Complex {
  // Smith's algorithm: avoids overflow/underflow of |b|^2.
  if (Math.abs(b.re) >= Math.abs(b.im)) {
    const r = b.im / b.re;
    const d = b.re + b.im * r;
    return cx((a.re + a.im * r) / d, (a.im - a.re * r) / d);
  }
  const r = b.re / b.im;
  const d = b.re * r + b.im;
  return cx((a.re * r + a.im) / d, (a.im * r - a.re) / d);
}

/** Principal square root. */
function sqrt(a: Complex): Complex {
  const r = abs(a);
  if (r === 0) return cx(0, 0);
  if (a.re >= 0) {
    const t = Math.sqrt((r + a.re) / 2);
    return cx(t, a.im / (2 * t));
  }
  const t = Math.sqrt((r - a.re) / 2);
  return cx(Math.abs(a.im) / (2 * t), a.im < 0 || Object.is(a.im, -0) ? -t : t);
}

function prod(values: readonly Complex[]): Complex {
  let p = cx(1, 0);
  for (const v of values) p = mul(p, v);
  return p;
}

/** Zeros, poles and gain of a (analog or digital) filter. */
interface Zpk {
  z: Complex[];
  p: Complex[];
  k: number;
}

/** Analog Butterworth lowpass prototype of order n, cutoff 1 rad/s. */
function prototype(n: number): Zpk {
  const p: Complex[] = [];
  for (let m = -n + 1; m < n; m += 2) {
    const theta = (Math.PI * m) / (2 * n);
    p.push(cx(-Math.cos(theta), -Math.sin(theta)));
  }
  return { z: [], p, k: 1 };
}

function lowpassToLowpass({ z, p, k }: Zpk, wo: number): Zpk {
  const degree = p.length - z.length;
  return { z: z.map((v) => scale(v, wo)), p: p.map((v) => scale(v, wo)), k: k * wo ** degree };
}

function lowpassToHighpass({ z, p, k }: Zpk, wo: number): Zpk {
  const degree = p.length - z.length;
  const w = cx(wo);
  const zh = z.map((v) => div(w, v));
  for (let i = 0; i < degree; i++) zh.push(cx(0));
  const gain = div(prod(z.map((v) => scale(v, -1))), prod(p.map((v) => scale(v, -1)))).re;
  return { z: zh, p: p.map((v) => div(w, v)), k: k * gain };
}

/** Each root r of the shifted prototype becomes the pair r ± sqrt(r^2 - wo^2). */
function splitAround(roots: readonly Complex[], wo: number): Complex[] {
  const wo2 = cx(wo * wo);
  const plus: Complex[] = [];
  const minus: Complex[] = [];
  for (const r of roots) {
    const d = sqrt(sub(mul(r, r), wo2));
    plus.push(add(r, d));
    minus.push(sub(r, d));
  }
  return plus.concat(minus);
}

function lowpassToBandpass({ z, p, k }: Zpk, wo: number, bw: number): Zpk {
  const degree = p.length - z.length;
  const zb = splitAround(
    z.map((v) => scale(v, bw / 2)),
    wo,
  );
  for (let i = 0; i < degree; i++) zb.push(cx(0));
  return {
    z: zb,
    p: splitAround(
      p.map((v) => scale(v, bw / 2)),
      wo,
    ),
    k: k * bw ** degree,
  };
}

function lowpassToBandstop({ z, p, k }: Zpk, wo: number, bw: number): Zpk {
  const degree = p.length - z.length;
  const half = cx(bw / 2);
  const zb = splitAround(
    z.map((v) => div(half, v)),
    wo,
  );
  // Zeros that were at infinity move to the centre of the stop band, ±j·wo.
  for (let i = 0; i < degree; i++) zb.push(cx(0, wo));
  for (let i = 0; i < degree; i++) zb.push(cx(0, -wo));
  const gain = div(prod(z.map((v) => scale(v, -1))), prod(p.map((v) => scale(v, -1)))).re;
  return {
    z: zb,
    p: splitAround(
      p.map((v) => div(half, v)),
      wo,
    ),
    k: k * gain,
  };
}

/** Bilinear transform with sampling rate `fs` (s = 2·fs·(z-1)/(z+1)). */
function bilinear({ z, p, k }: Zpk, fs: number): Zpk {
  const degree = p.length - z.length;
  const fs2 = cx(2 * fs);
  const zz = z.map((v) => div(add(fs2, v), sub(fs2, v)));
  for (let i = 0; i < degree; i++) zz.push(cx(-1));
  const gain = div(prod(z.map((v) => sub(fs2, v))), prod(p.map((v) => sub(fs2, v)))).re;
  return { z: zz, p: p.map((v) => div(add(fs2, v), sub(fs2, v))), k: k * gain };
}

/**
 * Splits roots into real ones (imaginary part within rounding of zero, made exactly real) and one
 * representative (positive imaginary part) per complex-conjugate pair.
 */
function conjugatePairs(roots: readonly Complex[], what: string): { complex: Complex[]; real: Complex[] } {
  const tol = 100 * Number.EPSILON;
  const real: Complex[] = [];
  const upper: Complex[] = [];
  const lower: Complex[] = [];
  for (const r of roots) {
    if (Math.abs(r.im) <= tol * abs(r)) real.push(cx(r.re, 0));
    else if (r.im > 0) upper.push(r);
    else lower.push(r);
  }
  if (upper.length !== lower.length) throw new Error(`${what}: complex root without a matching conjugate`);
  // Match each upper root with the closest conjugate of a lower root and average out rounding.
  const complex: Complex[] = [];
  const unused = lower.slice();
  for (const u of upper) {
    let best = 0;
    for (let i = 1; i < unused.length; i++) {
      if (abs(sub(u, conj(unused[i]))) < abs(sub(u, conj(unused[best])))) best = i;
    }
    const l = unused.splice(best, 1)[0];
    complex.push(cx((u.re + l.re) / 2, (u.im - l.im) / 2));
  }
  // Same order as SciPy's _cplxreal (by real part, then |imag|), so ties resolve alike.
  complex.sort((a, b) => a.re - b.re || Math.abs(a.im) - Math.abs(b.im));
  real.sort((a, b) => a.re - b.re);
  return { complex, real };
}

const isReal = (v: Complex): boolean => v.im === 0;

/** Index of the root closest to the unit circle (the "worst" conditioned one). */
function worstIndex(roots: readonly Complex[], candidates?: readonly number[]): number {
  const idx = candidates ?? roots.map((_, i) => i);
  let best = idx[0];
  for (const i of idx) {
    if (Math.abs(1 - abs(roots[i])) < Math.abs(1 - abs(roots[best]))) best = i;
  }
  return best;
}

/** Index of the root in `from` nearest to `to`, restricted to real or complex roots if asked. */
function nearestIndex(from: readonly Complex[], to: Complex, which: 'any' | 'real' | 'complex'): number {
  let best = -1;
  let bestDistance = Infinity;
  for (let i = 0; i < from.length; i++) {
    if (which === 'real' && !isReal(from[i])) continue;
    if (which === 'complex' && isReal(from[i])) continue;
    const d = abs(sub(from[i], to));
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  }
  if (best < 0) throw new Error(`zpk2sos: no ${which} zero left to pair with a pole`);
  return best;
}

/** Coefficients of the monic polynomial with the given roots (at most 2; conjugates give reals). */
function quadratic(roots: readonly Complex[]): [number, number, number] {
  if (roots.length === 0) return [0, 0, 1];
  if (roots.length === 1) return [0, 1, -roots[0].re];
  const [r1, r2] = roots;
  return [1, -(r1.re + r2.re), mul(r1, r2).re];
}

/** Pairs zeros and poles into second-order sections ('nearest' pairing), gain in the first one. */
function zpkToSos({ z: zIn, p: pIn, k }: Zpk): Float64Array {
  const z = zIn.slice();
  const p = pIn.slice();
  while (p.length < z.length) p.push(cx(0));
  while (z.length < p.length) z.push(cx(0));
  const nSections = (p.length + 1) >> 1;
  if (p.length % 2 === 1) {
    p.push(cx(0));
    z.push(cx(0));
  }
  const zs = conjugatePairs(z, 'zeros');
  const ps = conjugatePairs(p, 'poles');
  const zeros = zs.complex.concat(zs.real);
  const poles = ps.complex.concat(ps.real);
  const sos = new Float64Array(nSections * 6);
  const take = (list: Complex[], i: number): Complex => list.splice(i, 1)[0];

  const setSection = (si: number, sz: Complex[], sp: Complex[]): void => {
    const b = quadratic(sz);
    const a = quadratic(sp);
    sos.set([b[0], b[1], b[2], a[0], a[1], a[2]], si * 6);
  };

  // Fill from the last section backwards so the poles nearest the unit circle come last.
  for (let si = nSections - 1; si >= 0; si--) {
    const p1 = take(poles, worstIndex(poles));
    const realPolesLeft = poles.filter(isReal).length;
    if (isReal(p1) && realPolesLeft === 0) {
      // The last real pole: a first-order section with the nearest real zero.
      const z1 = take(zeros, nearestIndex(zeros, p1, 'real'));
      setSection(si, [z1, cx(0)], [p1, cx(0)]);
    } else if (poles.length + 1 === zeros.length && !isReal(p1) && realPolesLeft === 1 && zeros.filter(isReal).length === 1) {
      // One real pole and one real zero remain for later: this complex pole must take a complex zero.
      const z1 = take(zeros, nearestIndex(zeros, p1, 'complex'));
      setSection(si, [z1, conj(z1)], [p1, conj(p1)]);
    } else {
      let p2: Complex;
      if (isReal(p1)) {
        const realIdx = poles.map((v, i) => (isReal(v) ? i : -1)).filter((i) => i >= 0);
        p2 = take(poles, worstIndex(poles, realIdx));
      } else {
        p2 = conj(p1);
      }
      if (zeros.length > 0) {
        const z1 = take(zeros, nearestIndex(zeros, p1, 'any'));
        if (!isReal(z1)) {
          setSection(si, [z1, conj(z1)], [p1, p2]);
        } else if (zeros.length > 0) {
          const z2 = take(zeros, nearestIndex(zeros, p1, 'real'));
          setSection(si, [z1, z2], [p1, p2]);
        } else {
          setSection(si, [z1], [p1, p2]);
        }
      } else {
        setSection(si, [], [p1, p2]);
      }
    }
  }
  if (poles.length !== 0 || zeros.length !== 0) throw new Error('zpk2sos: unpaired poles or zeros left');
  sos[0] *= k;
  sos[1] *= k;
  sos[2] *= k;
  return sos;
}

function checkCutoff(value: number, fs: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive frequency in Hz (got ${String(value)})`);
  }
  if (value >= fs / 2) throw new Error(`${name} ${value} Hz must be below Nyquist (${fs / 2} Hz)`);
}

/** Checks a sampling rate argument, naming it in the error. */
export function checkSampleRate(fs: number, name = 'fs'): void {
  if (typeof fs !== 'number' || !Number.isFinite(fs) || fs <= 0) {
    throw new Error(`${name} must be a positive sampling rate in Hz (got ${String(fs)})`);
  }
}

/** Checks a filter order argument, naming it in the error. */
export function checkOrder(order: number, name = 'order'): void {
  if (!Number.isInteger(order) || order < 1) throw new Error(`${name} must be a positive integer (got ${String(order)})`);
}

/**
 * Butterworth filter as second-order sections, like
 * `scipy.signal.butter(order, cutoff, btype, output='sos', fs=fs)`.
 *
 * @param order filter order N (a positive integer); band filters have 2N poles, so N sections.
 * @param cutoff -3 dB frequency in Hz: a number for 'lowpass'/'highpass', `[low, high]` for
 *   'bandpass'/'bandstop'; all strictly between 0 and Nyquist (`fs / 2`).
 * @param fs sampling rate in Hz.
 * @returns `nSections * 6` values, one row `[b0, b1, b2, a0 = 1, a1, a2]` per section, to be run
 *   in order (see SosFilter).
 */
export function butterworthSos(order: number, cutoff: number | readonly [number, number], fs: number, btype: ButterworthType): Float64Array {
  checkOrder(order);
  checkSampleRate(fs);
  if (!BTYPES.includes(btype)) throw new Error(`btype must be one of ${BTYPES.join(', ')} (got ${String(btype)})`);
  const band = btype === 'bandpass' || btype === 'bandstop';
  let edges: number[];
  if (band) {
    if (!Array.isArray(cutoff) || cutoff.length !== 2) {
      throw new Error(`cutoff must be [low, high] in Hz for a ${btype} filter (got ${JSON.stringify(cutoff)})`);
    }
    const [low, high] = cutoff as readonly [number, number];
    checkCutoff(low, fs, 'cutoff low');
    checkCutoff(high, fs, 'cutoff high');
    if (!(low < high)) throw new Error(`cutoff low (${low} Hz) must be below cutoff high (${high} Hz)`);
    edges = [low, high];
  } else {
    if (typeof cutoff !== 'number') {
      throw new Error(`cutoff must be a single frequency in Hz for a ${btype} filter (got ${JSON.stringify(cutoff)})`);
    }
    checkCutoff(cutoff, fs, 'cutoff');
    edges = [cutoff];
  }

  // Work at a normalised rate of 2 (Nyquist = 1), as SciPy does; prewarp so the bilinear
  // transform maps the analog cutoff exactly onto the requested digital one.
  const fsDesign = 2;
  const warped = edges.map((f) => 2 * fsDesign * Math.tan((Math.PI * ((2 * f) / fs)) / fsDesign));
  const proto = prototype(order);
  let analog: Zpk;
  switch (btype) {
    case 'lowpass':
      analog = lowpassToLowpass(proto, warped[0]);
      break;
    case 'highpass':
      analog = lowpassToHighpass(proto, warped[0]);
      break;
    case 'bandpass':
      analog = lowpassToBandpass(proto, Math.sqrt(warped[0] * warped[1]), warped[1] - warped[0]);
      break;
    case 'bandstop':
      analog = lowpassToBandstop(proto, Math.sqrt(warped[0] * warped[1]), warped[1] - warped[0]);
      break;
  }
  return zpkToSos(bilinear(analog, fsDesign));
}

/** Number of sections in an SOS coefficient array. */
export function sectionCount(sos: Float64Array): number {
  return sos.length / 6;
}

/**
 * Complex frequency response of an SOS cascade at `freq` Hz for sampling rate `fs`:
 * returns `{ re, im }` of H(e^{jω}), ω = 2π·freq/fs.
 */
export function sosFrequencyResponse(sos: Float64Array, freq: number, fs: number): { re: number; im: number } {
  const w = (2 * Math.PI * freq) / fs;
  // z^-1 and z^-2 on the unit circle.
  const z1 = cx(Math.cos(w), -Math.sin(w));
  const z2 = cx(Math.cos(2 * w), -Math.sin(2 * w));
  let h = cx(1, 0);
  for (let i = 0; i < sos.length; i += 6) {
    const num = add(add(cx(sos[i]), scale(z1, sos[i + 1])), scale(z2, sos[i + 2]));
    const den = add(add(cx(sos[i + 3]), scale(z1, sos[i + 4])), scale(z2, sos[i + 5]));
    h = mul(h, div(num, den));
  }
  return h;
}

/** Magnitude of the SOS cascade's response at `freq` Hz. */
export function sosGain(sos: Float64Array, freq: number, fs: number): number {
  const h = sosFrequencyResponse(sos, freq, fs);
  return Math.hypot(h.re, h.im);
}
