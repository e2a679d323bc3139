// SSVEP flicker in whole frames: a target at f Hz on a screen at R Hz cycles every round(R / f)
// frames, lit for the first half (rounded up); f is exact when it divides R.

export interface Flicker {
  readonly label: string;
  readonly marker: string;
  /** The frequency asked for, Hz. */
  readonly requested: number;
  /** Frames per cycle, lit and dark. */
  readonly cycle: number;
  readonly on: number;
  /** The frequency shown: refresh / cycle, Hz. */
  readonly frequency: number;
}

export function flickerOf(target: { label: string; marker: string; frequency: number }, refreshHz: number): Flicker {
  const cycle = Math.max(2, Math.round(refreshHz / target.frequency));
  return { label: target.label, marker: target.marker, requested: target.frequency, cycle, on: Math.ceil(cycle / 2), frequency: refreshHz / cycle };
}

/** Whether the target is lit in frame `k` of a trial. */
export function litAt(f: Flicker, k: number): boolean {
  return k % f.cycle < f.on;
}

/** `label:marker:frequency,...` (the pipeline's targets) parsed. */
export function parseTargets(spec: string): { label: string; marker: string; frequency: number }[] {
  return spec
    .split(',')
    .map((t) => t.split(':'))
    .filter((p) => p.length === 3 && Number(p[2]) > 0)
    .map(([label, marker, f]) => ({ label, marker, frequency: Number(f) }));
}
