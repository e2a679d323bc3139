import { byId, el } from './dom.js';
import type { Model } from './model.js';
import { classColor } from './theme.js';

/** A bar and a percentage per class: the probabilities of the last decision (smoothed when it has them). */
export class ProbabilityBars {
  private readonly box = byId('prob-bars');
  private bars: { fill: HTMLElement; pct: HTMLElement }[] = [];

  constructor(private readonly model: Model) {}

  draw(): void {
    const { classes, lastProbs } = this.model;
    if (this.bars.length !== classes.length) {
      this.box.textContent = '';
      this.bars = classes.map((c, i) => {
        const name = el('span', '', c);
        const bar = el('div', 'bar');
        const fill = el('i');
        fill.style.background = classColor(i);
        bar.append(fill);
        const pct = el('span', 'pct', '-');
        this.box.append(name, bar, pct);
        return { fill, pct };
      });
    }
    if (!lastProbs) return;
    classes.forEach((c, i) => {
      const p = lastProbs[c] ?? 0;
      this.bars[i].fill.style.width = `${(p * 100).toFixed(1)}%`;
      this.bars[i].pct.textContent = `${(p * 100).toFixed(0)}%`;
    });
  }
}
