// The decision history (newest first: time, label, top class, latency, command or gate state) and
// the current decision in the panel's head.
import type { Probabilities } from '../../client/protocol-types.js';
import { byId, el, fmt } from './dom.js';
import { HISTORY_ROWS, type Model } from './model.js';
import type { Probe } from './probe.js';

export class DecisionsPanel {
  private readonly list = byId('history');
  private readonly now = byId('decision-now');

  constructor(
    private readonly model: Model,
    private readonly probe: Probe,
  ) {}

  draw(): void {
    const items = this.model.pendingHistory.splice(0).slice(-HISTORY_ROWS);
    const frag = document.createDocumentFragment();
    for (let i = items.length - 1; i >= 0; i--) {
      const d = items[i];
      const li = el('li', d.command ? 'command' : '');
      const [top, p] = topClass(d.probabilities);
      li.append(
        el('span', '', `${fmt(d.timestamp, 2)} s`),
        el('span', '', d.label),
        el('span', '', top === d.label ? `${(p * 100).toFixed(0)}%` : `${top} ${(p * 100).toFixed(0)}%`),
        el('span', 'muted', `${fmt(d.latencyMs, 1)} ms`),
        d.command ? el('span', 'cmd', `▶ command ${d.command}`) : el('span', 'muted', d.state ?? ''),
      );
      frag.append(li);
    }
    this.list.prepend(frag);
    while (this.list.childElementCount > HISTORY_ROWS) this.list.lastElementChild!.remove();
    const d = this.probe.lastDecision;
    if (d) this.now.textContent = d.command ? `${d.label} ▶ ${d.command}` : d.label;
  }
}

function topClass(probs: Probabilities): [string, number] {
  let best = '';
  let p = -1;
  for (const [c, v] of Object.entries(probs)) if (v > p) [best, p] = [c, v];
  return [best, p];
}
