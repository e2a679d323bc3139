// The decoder's class probabilities as one bar under the field (DOM, updated at most once per
// animation frame).
import type { Probabilities } from '../../src/client/protocol-types.js';

const CLASS_COLORS: Record<string, string> = { left: '#3d8bfd', right: '#f0883e' };
const OTHER_COLORS = ['#3fb950', '#d2a8ff', '#f778ba', '#56d4dd'];

export class ProbabilityBar {
  private probs: Probabilities = {};
  private classes: string[] = [];
  private queued = false;

  constructor(private readonly box: HTMLElement) {}

  show(probs: Probabilities): void {
    this.probs = probs;
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  private draw(): void {
    const box = this.box;
    const classes = Object.keys(this.probs);
    if (box.childElementCount !== classes.length || this.classes.join() !== classes.join()) {
      this.classes = classes;
      box.textContent = '';
      classes.forEach((c, i) => {
        const d = document.createElement('div');
        d.style.background = CLASS_COLORS[c] ?? OTHER_COLORS[i % OTHER_COLORS.length];
        d.style.justifyContent = i === classes.length - 1 && i > 0 ? 'flex-end' : 'flex-start';
        box.append(d);
      });
    }
    classes.forEach((c, i) => {
      const p = this.probs[c] ?? 0;
      const d = box.children[i] as HTMLElement;
      d.style.width = `${(p * 100).toFixed(1)}%`;
      d.textContent = `${c} ${(p * 100).toFixed(0)}%`;
    });
  }
}
