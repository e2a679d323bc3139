import type { Perf } from './probe.js';

const FRAME_MS = 1000 / 60;

/** Perf mode: counts animation frames and the ones missed (gaps of two frames or more). */
export function monitorFrames(perf: Perf): void {
  let last = 0;
  const tick = (t: number): void => {
    if (last) {
      const gap = t - last;
      perf.frames++;
      if (gap > 1.5 * FRAME_MS) perf.dropped += Math.max(1, Math.round(gap / FRAME_MS) - 1);
    }
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
