import type { Perf } from './probe.js';

/** The parts of the page that redraw on their own. */
export type Part = 'header' | 'signal' | 'prob' | 'spectrum' | 'bands' | 'fit' | 'history' | 'stats' | 'cues' | 'emotion' | 'retrieval' | 'resize';

/**
 * Redraw scheduling: messages mark the parts they touched as dirty; one requestAnimationFrame
 * callback redraws those, so a burst of messages costs one redraw of each part.
 */
export class Redraw {
  private readonly dirty = new Set<Part>();
  private frameRequested = false;
  private renderers: Record<Part, () => void> | undefined;

  constructor(private readonly perf: Perf) {}

  /** Sets what draws each part; nothing is drawn before. */
  start(renderers: Record<Part, () => void>): void {
    this.renderers = renderers;
    if (this.dirty.size) this.request();
  }

  readonly invalidate = (part: Part): void => {
    this.dirty.add(part);
    this.request();
  };

  private request(): void {
    if (this.frameRequested || !this.renderers) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.frame());
  }

  private frame(): void {
    this.frameRequested = false;
    const t0 = performance.now();
    const parts = [...this.dirty];
    this.dirty.clear();
    for (const part of parts) {
      try {
        this.renderers![part]();
      } catch (e) {
        console.error(`dashboard: drawing ${part} failed`, e);
      }
    }
    // uPlot paints in a microtask queued by setData: measure after it
    queueMicrotask(() => {
      const ms = performance.now() - t0;
      const p = this.perf;
      p.draws++;
      p.drawMsTotal += ms;
      p.drawMsAvg = p.drawMsTotal / p.draws;
      if (ms > p.drawMsMax) p.drawMsMax = ms;
    });
  }
}
