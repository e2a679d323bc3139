/**
 * The random processes the EEG simulators are made of: banks of 1/f ("pink") noise processes and
 * the coefficients of narrow-band resonators (rhythms), plus seeding of independent sub-streams.
 * State lives in flat typed arrays; a step allocates nothing.
 */

/** Poles of the pinking cascade, Hz: first-order sections with a pole at f and a zero at 2f. */
const PINK_POLES_HZ = [0.25, 1, 4, 16, 64];

/** A seed for an independent sub-stream of `seed` (splitmix-style finaliser). */
export function subStreamSeed(seed: number, salt: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ salt) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** `amplitudes.length` independent pink-noise processes, process p with standard deviation amplitudes[p] (µV). */
export class PinkNoiseBank {
  private readonly pole: Float64Array;
  private readonly zero: Float64Array;
  private readonly scale: Float64Array;
  /** Per process and section: previous input, previous output. */
  private readonly state: Float64Array;

  constructor(rate: number, amplitudes: readonly number[]) {
    this.pole = Float64Array.from(PINK_POLES_HZ, (f) => Math.exp((-2 * Math.PI * f) / rate));
    this.zero = Float64Array.from(PINK_POLES_HZ, (f) => Math.exp((-4 * Math.PI * f) / rate));
    const unit = Math.sqrt(this.impulseEnergy());
    this.scale = Float64Array.from(amplitudes, (a) => a / unit);
    this.state = new Float64Array(amplitudes.length * PINK_POLES_HZ.length * 2);
  }

  /** One step of process `p` driven by white sample `e`. */
  step(p: number, e: number): number {
    const sections = this.pole.length;
    const st = this.state;
    let x = e * this.scale[p];
    let k = p * sections * 2;
    for (let i = 0; i < sections; i++, k += 2) {
      // y[n] = a y[n-1] + x[n] - b x[n-1]: pole at f, zero at 2f, i.e. -6 dB over that octave
      // and flat over the next; the cascade falls as 1/f in power between its first and last pole.
      const y = this.pole[i] * st[k + 1] + x - this.zero[i] * st[k];
      st[k] = x;
      st[k + 1] = y;
      x = y;
    }
    return x;
  }

  /** Output energy of the unscaled cascade for a unit impulse (its variance gain). */
  private impulseEnergy(): number {
    const sections = this.pole.length;
    const prevX = new Float64Array(sections);
    const prevY = new Float64Array(sections);
    const steps = Math.ceil(40 / (1 - Math.max(...this.pole)));
    let energy = 0;
    for (let n = 0; n < steps; n++) {
      let x = n === 0 ? 1 : 0;
      for (let i = 0; i < sections; i++) {
        const y = this.pole[i] * prevY[i] + x - this.zero[i] * prevX[i];
        prevX[i] = x;
        prevY[i] = y;
        x = y;
      }
      energy += x * x;
    }
    return energy;
  }
}

/**
 * A resonator x[n] = a1 x[n-1] + a2 x[n-2] + b e[n] on white noise e: narrow-band noise centred on
 * `freq` with `bandwidth` (Hz), scaled to standard deviation `amplitude` in steady state.
 */
export function resonator(freq: number, bandwidth: number, rate: number, amplitude: number): { a1: number; a2: number; b: number } {
  const radius = Math.exp((-Math.PI * bandwidth) / rate);
  const a1 = 2 * radius * Math.cos((2 * Math.PI * freq) / rate);
  const a2 = -radius * radius;
  // Stationary variance of the AR(2) process for unit input variance.
  const variance = (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1 * a1));
  return { a1, a2, b: amplitude / Math.sqrt(variance) };
}
