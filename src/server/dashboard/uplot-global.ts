// uPlot, loaded by index.html as a classic script (/vendor/uplot.js) before the modules run: a
// page whose uPlot failed to load still shows its text panels. Only its types are imported here.
import type uPlot from 'uplot';

export type { uPlot };

/** The uPlot constructor, or undefined when /vendor/uplot.js did not load. */
export const UPlot: typeof uPlot | undefined = (() => {
  const u = (window as { uPlot?: unknown }).uPlot;
  return typeof u === 'function' ? (u as typeof uPlot) : undefined;
})();

/** Canvas pixels per CSS pixel, as uPlot sees it. */
export function pxRatio(): number {
  return UPlot?.pxRatio || window.devicePixelRatio || 1;
}

/** A chart's width for its container. */
export function widthOf(el: HTMLElement): number {
  return Math.max(200, Math.floor(el.clientWidth));
}

/** Tick labels "<value> <unit>" with no decimals. */
export function unitTicks(unit: string): (u: uPlot, splits: number[]) => string[] {
  return (_u, splits) => splits.map((s) => `${s.toFixed(0)} ${unit}`);
}
