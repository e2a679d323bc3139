// Class probabilities over the last PROB_SECONDS (faint raw and bold smoothed lines when the session
// has a control stage), with cue lines and a mark at each command fired.
import { drawCueLines } from './cue-lines.js';
import { byId } from './dom.js';
import type { Model } from './model.js';
import { PROB_CAPACITY } from './probability-ring.js';
import { AXIS, classColor } from './theme.js';
import { pxRatio, UPlot, unitTicks, widthOf, type uPlot } from './uplot-global.js';

const PROB_SECONDS = 30;

export class ProbabilityChart {
  private chart: uPlot | null = null;
  /** The classes (and whether smoothed lines are shown) the chart was made for. */
  private shape = '';
  // The ring's contents in time order, reused between redraws.
  private readonly t = new Float64Array(PROB_CAPACITY);
  private p: Float64Array[] = [];
  private s: Float64Array[] = [];
  private readonly box = byId('prob-chart');

  constructor(private readonly model: Model) {}

  draw(): void {
    this.ensure();
    const u = this.chart;
    if (!u) return;
    const ring = this.model.probs;
    const classes = this.model.classes.length;
    if (this.p.length !== classes) {
      this.p = Array.from({ length: classes }, () => new Float64Array(PROB_CAPACITY));
      this.s = Array.from({ length: classes }, () => new Float64Array(PROB_CAPACITY));
    }
    const n = ring.p.length === classes ? ring.count : 0;
    const start = (ring.head - n + PROB_CAPACITY) % PROB_CAPACITY;
    for (let k = 0; k < n; k++) {
      let p = start + k;
      if (p >= PROB_CAPACITY) p -= PROB_CAPACITY;
      this.t[k] = ring.t[p];
      for (let c = 0; c < classes; c++) {
        this.p[c][k] = ring.p[c][p];
        this.s[c][k] = ring.s[c][p];
      }
    }
    const data: uPlot.AlignedData = [this.t.subarray(0, n), ...this.p.map((a) => a.subarray(0, n))];
    if (this.model.hasSmoothed) data.push(...this.s.map((a) => a.subarray(0, n)));
    u.setData(data);
  }

  resize(): void {
    const u = this.chart;
    if (u) u.setSize({ width: widthOf(this.box), height: u.height });
  }

  private ensure(): void {
    const { classes, hasSmoothed } = this.model;
    const shape = `${classes.join('\u0000')}|${hasSmoothed}`;
    if (!UPlot || !classes.length || (this.chart && this.shape === shape)) return;
    this.chart?.destroy();
    this.shape = shape;
    this.box.textContent = '';
    const series: uPlot.Series[] = [{ label: 't' }];
    classes.forEach((c, i) => {
      const color = classColor(i);
      series.push({ label: c, stroke: hasSmoothed ? color + '77' : color, width: hasSmoothed ? 1 : 2, points: { show: false } });
    });
    if (hasSmoothed) classes.forEach((c, i) => series.push({ label: `${c} (smoothed)`, stroke: classColor(i), width: 2, points: { show: false } }));
    const opts: uPlot.Options = {
      width: widthOf(this.box),
      height: 200,
      padding: [24, 12, 0, 0],
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: () => this.xRange() },
        y: { auto: false, range: () => [0, 1] },
      },
      axes: [
        { ...AXIS, size: 28, values: unitTicks('s') },
        { ...AXIS, size: 50, splits: () => [0, 0.25, 0.5, 0.75, 1], values: (_u, splits) => splits.map((s) => `${Math.round(s * 100)}%`) },
      ],
      series,
      hooks: { drawAxes: [(u) => this.drawUnderlay(u)], draw: [(u) => this.drawCommandMarks(u)] },
    };
    this.chart = new UPlot(opts, [new Float64Array(0), ...series.slice(1).map(() => new Float64Array(0))], this.box);
  }

  private xRange(): uPlot.Range.MinMax {
    const ring = this.model.probs;
    const last = ring.count ? ring.lastTime : PROB_SECONDS;
    return [last - PROB_SECONDS, last];
  }

  private drawUnderlay(u: uPlot): void {
    u.ctx.save();
    drawCueLines(u, this.model.cues, pxRatio());
    u.ctx.restore();
  }

  /** A triangle and the command's name above the plot at each command fired. */
  private drawCommandMarks(u: uPlot): void {
    const ctx = u.ctx;
    const pr = pxRatio();
    const { top } = u.bbox;
    const xmin = u.scales.x.min!;
    const xmax = u.scales.x.max!;
    ctx.save();
    ctx.font = `bold ${10 * pr}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    for (const c of this.model.commands) {
      if (c.t < xmin || c.t > xmax) continue;
      const x = u.valToPos(c.t, 'x', true);
      const i = this.model.classes.indexOf(c.label);
      ctx.fillStyle = i >= 0 ? classColor(i) : '#f0c24b';
      ctx.beginPath();
      ctx.moveTo(x - 4 * pr, top - 9 * pr);
      ctx.lineTo(x + 4 * pr, top - 9 * pr);
      ctx.lineTo(x, top - 2 * pr);
      ctx.fill();
      ctx.fillText(c.command, x, top - 10 * pr);
    }
    ctx.restore();
  }
}
