// The screen's refresh, measured with requestAnimationFrame: stimulus timing counts frames, so
// the pages first learn how long one lasts.

/** The next animation frame's timestamp (ms, performance.now() clock: when the frame began). */
export function nextFrame(): Promise<number> {
  return new Promise((resolve) => requestAnimationFrame(resolve));
}

/** Frame period (ms) and refresh rate (Hz) over about `ms` of frames: the median interval, so that a dropped frame does not count. */
export async function measureRefresh(ms = 1000): Promise<{ periodMs: number; hz: number }> {
  const stamps: number[] = [await nextFrame()];
  while (stamps[stamps.length - 1] - stamps[0] < ms) stamps.push(await nextFrame());
  const gaps = stamps
    .slice(1)
    .map((t, i) => t - stamps[i])
    .sort((a, b) => a - b);
  const periodMs = gaps[Math.floor(gaps.length / 2)];
  return { periodMs, hz: 1000 / periodMs };
}
