// Image retrieval: the last image onsets, what was shown (when the stream says) and the top
// candidates with the shown one starred, and how often it was in the top k. Shown once the first
// result arrives.
import { byId, el } from './dom.js';
import type { Model } from './model.js';
import type { Probe } from './probe.js';

export class RetrievalPanel {
  private readonly panel = byId('retrieval-panel');
  private readonly hits = byId('retrieval-hits');
  private readonly list = byId('retrievals');

  constructor(
    private readonly model: Model,
    private readonly probe: Probe,
  ) {}

  draw(): void {
    const last = this.probe.lastRetrieval;
    if (!last) return;
    this.panel.hidden = false;
    const r = this.model.retrieval;
    this.hits.textContent = r.scored ? `shown image in the top ${last.topK.length}: ${r.hits} of ${r.scored}` : '';
    this.list.textContent = '';
    for (const m of r.recent) {
      const li = el('li');
      li.append(el('span', 'muted', `${m.timestamp.toFixed(1)} s`), el('span', '', m.shown ?? '?'));
      const cands = el('span');
      cands.textContent = m.topK.map((t) => `${t.id === m.shown ? '★ ' : ''}${t.label ?? t.id} ${t.score.toFixed(2)}`).join(' · ');
      li.append(cands);
      this.list.append(li);
    }
  }
}
