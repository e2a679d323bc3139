// The server's figures (latency, decision rate, drops, clients), the calibration accuracy, and the
// page's own (messages per second, redraw time, dropped frames in perf mode).
import { byId, fmt } from './dom.js';
import type { Model } from './model.js';
import type { Perf } from './probe.js';

export class StatsPanel {
  private readonly latency = byId('st-latency');
  private readonly rate = byId('st-rate');
  private readonly samples = byId('st-samples');
  private readonly messages = byId('st-messages');
  private readonly clients = byId('st-clients');
  private readonly accuracy = byId('st-acc');
  private readonly pageMsgs = byId('st-page-msgs');
  private readonly pageDraw = byId('st-page-draw');

  constructor(
    private readonly model: Model,
    private readonly perf: Perf,
    private readonly perfOn: boolean,
  ) {}

  draw(): void {
    const s = this.model.stats;
    if (s) {
      this.latency.textContent = `${fmt(s.latencyMs?.p50, 2)} / ${fmt(s.latencyMs?.p99, 2)} ms`;
      this.rate.textContent = fmt(s.decisionsPerSecond, 1);
      this.samples.textContent = String(s.samplesDropped);
      this.samples.classList.toggle('alert', s.samplesDropped > 0);
      this.messages.textContent = String(s.messagesDropped);
      this.messages.classList.toggle('alert', s.messagesDropped > 0);
      this.clients.textContent = String(s.clients);
    }
    const acc = this.model.calibrationAccuracy;
    if (acc != null) this.accuracy.textContent = `${(acc * 100).toFixed(1)} %`;
    this.pageMsgs.textContent = String(this.model.msgsPerSecond);
    const p = this.perf;
    this.pageDraw.textContent = `${fmt(p.drawMsAvg, 2)} / ${fmt(p.drawMsMax, 1)}` + (this.perfOn ? ` · dropped frames ${p.dropped}/${p.frames}` : '');
  }
}
