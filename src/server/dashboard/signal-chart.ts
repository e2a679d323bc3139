// The scrolling signal of every channel: uPlot draws the frame (time axis, grid, sizing); the
// traces are drawn here, one path per colour instead of one uPlot series per channel (64 series
// cost twice as much).
import { drawCueLines } from './cue-lines.js';
import { byId, fmt } from './dom.js';
import type { Model } from './model.js';
import type { Perf } from './probe.js';
import { SignalDisplay } from './signal-display.js';
import { SIGNAL_SECONDS } from './signal-ring.js';
import { AXIS, FLAG_COLORS, TRACE_COLORS } from './theme.js';
import { pxRatio, UPlot, unitTicks, widthOf, type uPlot } from './uplot-global.js';

export class SignalChart {
  private chart: uPlot | null = null;
  /** The channel list the chart was made for. */
  private shape = '';
  private readonly disp = new SignalDisplay();
  private readonly box = byId('signal-chart');
  private readonly info = byId('signal-info');

  constructor(
    private readonly model: Model,
    private readonly perf: Perf,
  ) {}

  draw(): void {
    this.ensure();
    const u = this.chart;
    if (!u) return;
    const t0 = performance.now();
    const points = this.disp.build(this.model.ring, this.model.channels.length, u.bbox.width / pxRatio());
    this.perf.buildMsTotal += performance.now() - t0;
    u.setData([this.disp.xs.subarray(0, points)]);
    const ring = this.model.ring;
    if (ring) this.info.textContent = `${this.model.channels.length} ch · ${fmt(ring.rate, 0)} Hz shown · ${SIGNAL_SECONDS} s`;
  }

  /** The chart reaches down to the band panel beside it: follows that panel's height. */
  fit(): void {
    const u = this.chart;
    if (!u) return;
    const h = this.height(this.model.channels.length);
    if (Math.abs(h - u.height) > 2) u.setSize({ width: u.width, height: h });
  }

  resize(): void {
    const u = this.chart;
    if (u) u.setSize({ width: widthOf(this.box), height: u.height });
  }

  /** Enough rows for every channel, and at least down to the band panel's bottom. */
  private height(n: number): number {
    const row = n <= 24 ? 24 : n <= 40 ? 16 : 12;
    const rows = Math.max(320, n * row + 40);
    const beside = document.getElementById('bands-panel');
    const main = this.box.closest('main');
    if (!beside || !main || getComputedStyle(main).flexDirection === 'column') return rows;
    const fill = Math.floor(beside.getBoundingClientRect().bottom - this.box.getBoundingClientRect().top - 11);
    return Math.max(rows, Math.min(fill, 1600));
  }

  private ensure(): void {
    const names = this.model.channels;
    const shape = names.join('\u0000');
    if (!UPlot || (this.chart && this.shape === shape)) return;
    this.chart?.destroy();
    this.shape = shape;
    const n = names.length;
    this.box.textContent = '';
    this.disp.reset(n);
    const opts: uPlot.Options = {
      width: widthOf(this.box),
      height: this.height(n),
      padding: [6, 40, 0, 52],
      legend: { show: false },
      cursor: { show: false, drag: { x: false, y: false } },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: false, range: () => this.xRange() },
        y: { auto: false, range: () => [0, n] },
      },
      axes: [{ ...AXIS, size: 28, values: unitTicks('s') }, { show: false }],
      series: [{}],
      hooks: { drawAxes: [(u) => this.drawUnderlay(u)], draw: [(u) => this.drawTraces(u), (u) => this.drawLabels(u)] },
    };
    this.chart = new UPlot(opts, [new Float64Array(0)], this.box);
  }

  private xRange(): uPlot.Range.MinMax {
    const ring = this.model.ring;
    const end = ring && ring.count ? ring.lastTime : SIGNAL_SECONDS;
    return [end - SIGNAL_SECONDS, end];
  }

  private traceColor(i: number): string {
    const f = this.model.flags[i];
    return f && f !== 'ok' ? FLAG_COLORS[f] : TRACE_COLORS[i % 2];
  }

  /** Every channel's trace from the display buffers, batched into one path per colour. */
  private drawTraces(u: uPlot): void {
    const disp = this.disp;
    const points = disp.points;
    const n = this.model.channels.length;
    if (!points || !n) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const xmin = u.scales.x.min!;
    const kx = width / (u.scales.x.max! - xmin);
    const ky = height / n;
    if (disp.xpx.length < points) disp.xpx = new Float64Array(disp.xs.length);
    const xpx = disp.xpx;
    for (let i = 0; i < points; i++) xpx[i] = left + (disp.xs[i] - xmin) * kx;
    const byColour = new Map<string, number[]>();
    for (let c = 0; c < n; c++) {
      const colour = this.traceColor(c);
      const list = byColour.get(colour);
      if (list) list.push(c);
      else byColour.set(colour, [c]);
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.lineWidth = pxRatio();
    ctx.lineJoin = 'bevel';
    const bottom = top + height;
    for (const [colour, list] of byColour) {
      ctx.beginPath();
      for (const c of list) {
        const ys = disp.ys[c];
        ctx.moveTo(xpx[0], bottom - ys[0] * ky);
        for (let i = 1; i < points; i++) ctx.lineTo(xpx[i], bottom - ys[i] * ky);
      }
      ctx.strokeStyle = colour;
      ctx.stroke();
    }
    ctx.restore();
  }

  /** Row baselines and cue lines, under the traces. */
  private drawUnderlay(u: uPlot): void {
    const ctx = u.ctx;
    const { left, width } = u.bbox;
    const n = this.model.channels.length;
    ctx.save();
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#1f252e';
    ctx.beginPath();
    for (let c = 0; c < n; c++) {
      const y = Math.round(u.valToPos(n - c - 0.5, 'y', true)) + 0.5;
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
    }
    ctx.stroke();
    drawCueLines(u, this.model.cues, pxRatio());
    ctx.restore();
  }

  /** Channel names left of the traces (coloured by their quality flag), and each row's scale right. */
  private drawLabels(u: uPlot): void {
    const ctx = u.ctx;
    const { channels, flags } = this.model;
    const sd = this.disp.sd;
    const n = channels.length;
    const pr = pxRatio();
    const row = u.bbox.height / Math.max(1, n) / pr;
    const size = Math.max(8, Math.min(12, row - 2));
    ctx.save();
    ctx.font = `${size * pr}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    for (let c = 0; c < n; c++) {
      const y = u.valToPos(n - c - 0.5, 'y', true);
      const flag = flags[c] ?? 'ok';
      ctx.textAlign = 'right';
      ctx.fillStyle = FLAG_COLORS[flag];
      ctx.fillText(flag === 'ok' ? channels[c] : `${channels[c]} ${flag[0]}`, u.bbox.left - 6 * pr, y);
      if (row >= 11 && sd[c] > 0) {
        ctx.textAlign = 'left';
        ctx.fillStyle = '#5d6b7b';
        ctx.font = `${Math.min(10, size) * pr}px system-ui, sans-serif`;
        ctx.fillText(scaleLabel(3 * sd[c]), u.bbox.left + u.bbox.width + 4 * pr, y);
        ctx.font = `${size * pr}px system-ui, sans-serif`;
      }
    }
    ctx.restore();
  }
}

function scaleLabel(uv: number): string {
  if (uv >= 1000) return `${(uv / 1000).toFixed(1)}mV`;
  return uv >= 10 ? `${uv.toFixed(0)}µV` : `${uv.toFixed(1)}µV`;
}
