// The last cues (in the stats panel) and the latest one in the probability panel's head,
// highlighted for 4 s after it arrives.
import { byId, el, fmt } from './dom.js';
import type { Model } from './model.js';
import type { Part } from './redraw.js';

const FRESH_MS = 4000;

export class CuesPanel {
  private readonly list = byId('cues');
  private readonly now = byId('cue-now');

  constructor(
    private readonly model: Model,
    private readonly invalidate: (part: Part) => void,
  ) {}

  draw(): void {
    this.list.textContent = '';
    for (const c of this.model.cues.slice(-8).reverse()) this.list.append(el('li', '', `${fmt(c.t, 2)} s  ${c.label}`));
    const cue = this.model.lastCue;
    if (!cue) return;
    const fresh = performance.now() - this.model.lastCueAt < FRESH_MS;
    this.now.textContent = `cue: ${cue.label} at ${fmt(cue.t, 1)} s`;
    this.now.classList.toggle('fresh', fresh);
    if (fresh) setTimeout(() => this.invalidate('cues'), FRESH_MS + 100);
  }
}
