// The power spectrum (mean over channels, dB) up to 60 Hz, the bands shaded and named.
import { byId } from './dom.js';
import type { Model } from './model.js';
import { AXIS, BAND_SYMBOLS } from './theme.js';
import { pxRatio, UPlot, unitTicks, widthOf, type uPlot } from './uplot-global.js';

export class SpectrumChart {
  private chart: uPlot | null = null;
  private readonly box = byId('spectrum-chart');

  constructor(private readonly model: Model) {}

  draw(): void {
    this.ensure();
    const s = this.model.spectrum;
    if (!s || !this.chart) return;
    const maxF = Math.min(s.freqs[s.freqs.length - 1] ?? 0, 60);
    let n = s.freqs.length;
    while (n > 1 && s.freqs[n - 1] > maxF) n--;
    this.chart.setData([s.freqs.slice(0, n), s.power.slice(0, n)]);
  }

  resize(): void {
    const u = this.chart;
    if (u) u.setSize({ width: widthOf(this.box), height: u.height });
  }

  private ensure(): void {
    if (!UPlot || this.chart) return;
    this.box.textContent = '';
    const opts: uPlot.Options = {
      width: widthOf(this.box),
      height: 170,
      padding: [16, 22, 0, 0],
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false },
        // a flat spectrum (a constant power, e.g. all at the floor) still needs a span to draw
        y: { range: (_u, lo, hi) => (Number.isFinite(lo) && Number.isFinite(hi) ? [Math.floor(lo / 10) * 10, Math.max(Math.ceil(hi / 10) * 10, Math.floor(lo / 10) * 10 + 10)] : [-10, 10]) },
      },
      axes: [
        { ...AXIS, size: 28, values: unitTicks('Hz') },
        { ...AXIS, size: 40 },
      ],
      series: [{}, { label: 'power', stroke: '#e5c07b', fill: '#e5c07b22', width: 1.5, points: { show: false } }],
      hooks: { drawAxes: [(u) => this.drawBandShading(u)] },
    };
    this.chart = new UPlot(opts, [[], []], this.box);
  }

  /** The bands come with each spectrum (the server defines them); nothing to shade before the first. */
  private drawBandShading(u: uPlot): void {
    const ctx = u.ctx;
    const pr = pxRatio();
    const { top, height } = u.bbox;
    const xmax = u.scales.x.max!;
    ctx.save();
    ctx.font = `${11 * pr}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    Object.entries(this.model.spectrum?.bandEdges ?? {}).forEach(([b, [f0, f1]], i) => {
      if (f0 > xmax) return;
      const x0 = u.valToPos(f0, 'x', true);
      const x1 = u.valToPos(Math.min(f1, xmax), 'x', true);
      ctx.fillStyle = i % 2 ? '#ffffff06' : '#ffffff10';
      ctx.fillRect(x0, top, x1 - x0, height);
      ctx.fillStyle = '#8c9aab';
      ctx.fillText(BAND_SYMBOLS[b] ?? b, (x0 + x1) / 2, top - 13 * pr);
    });
    ctx.restore();
  }
}
