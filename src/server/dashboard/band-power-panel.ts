// Band power: a bar per band (mean over channels) and a heat map of every channel's band power,
// with the value under the mouse in the map's tooltip.
import { byId, clearCanvas, el } from './dom.js';
import type { Model } from './model.js';

const MAP_HEIGHT = 110;
/** CSS pixels left of the heat map for the band names. */
const MAP_LABEL_WIDTH = 44;

export class BandPowerPanel {
  private readonly list = byId('band-list');
  private readonly map = byId<HTMLCanvasElement>('band-map');
  private rows: { names: string[]; rows: { fill: HTMLElement; val: HTMLElement }[] } | null = null;

  constructor(private readonly model: Model) {
    this.map.addEventListener('mousemove', (ev) => this.hover(ev));
  }

  draw(): void {
    const s = this.model.spectrum;
    if (!s) return;
    const names = Object.keys(s.bands);
    const means = names.map((b) => {
      const v = s.bands[b];
      let sum = 0;
      for (const x of v) sum += x;
      return v.length ? sum / v.length : NaN;
    });
    if (!this.rows || this.rows.names.join() !== names.join()) {
      this.list.textContent = '';
      this.rows = {
        names,
        rows: names.map((b) => {
          const bar = el('div', 'bar');
          const fill = el('i');
          bar.append(fill);
          const val = el('span', 'val');
          this.list.append(el('span', '', b), bar, val);
          return { fill, val };
        }),
      };
    }
    const finite = means.filter(Number.isFinite);
    const lo = Math.min(...finite) - 3;
    const hi = Math.max(...finite);
    const rows = this.rows.rows;
    names.forEach((_b, i) => {
      const m = means[i];
      rows[i].fill.style.width = Number.isFinite(m) ? `${(((m - lo) / Math.max(1e-9, hi - lo)) * 100).toFixed(1)}%` : '0';
      rows[i].val.textContent = Number.isFinite(m) ? `${m.toFixed(1)} dB` : '-';
    });
    this.drawMap(names);
  }

  /** One row per band, one column per channel, each row normalised to its own range. */
  private drawMap(names: string[]): void {
    const s = this.model.spectrum!;
    const { g, w, h, pr } = clearCanvas(this.map, MAP_HEIGHT);
    const labelW = MAP_LABEL_WIDTH * pr;
    const rowH = h / Math.max(1, names.length);
    const chans = Math.max(1, ...names.map((b) => s.bands[b].length));
    const colW = (w - labelW) / chans;
    g.font = `${10 * pr}px system-ui, sans-serif`;
    g.textBaseline = 'middle';
    names.forEach((b, r) => {
      const v = s.bands[b];
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of v) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      const span = Math.max(1e-9, hi - lo);
      for (let c = 0; c < v.length; c++) {
        g.fillStyle = heat((v[c] - lo) / span);
        g.fillRect(labelW + c * colW, r * rowH + 1, Math.max(1, colW - (colW > 4 ? 1 : 0)), rowH - 2);
      }
      g.fillStyle = '#8c9aab';
      g.fillText(b, 2 * pr, r * rowH + rowH / 2);
    });
    this.map.dataset.channels = String(chans);
  }

  private hover(ev: MouseEvent): void {
    const s = this.model.spectrum;
    const cv = this.map;
    if (!s || !this.rows) return;
    const rect = cv.getBoundingClientRect();
    const chans = Number(cv.dataset.channels || 1);
    const c = Math.floor(((ev.clientX - rect.left - MAP_LABEL_WIDTH) / (rect.width - MAP_LABEL_WIDTH)) * chans);
    const r = Math.floor(((ev.clientY - rect.top) / rect.height) * this.rows.names.length);
    const band = this.rows.names[r];
    const v = band ? s.bands[band]?.[c] : undefined;
    cv.title = v !== undefined && c >= 0 ? `${this.model.channels[c] ?? `#${c + 1}`} ${band}: ${v.toFixed(1)} dB` : '';
  }
}

/** 0..1 to a colour: dark blue, teal, yellow. */
function heat(x: number): string {
  const stops = [
    [20, 30, 70],
    [30, 140, 150],
    [240, 220, 90],
  ];
  const t = Math.max(0, Math.min(1, x)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const f = t - i;
  const a = stops[i];
  const b = stops[i + 1];
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)},${Math.round(a[1] + (b[1] - a[1]) * f)},${Math.round(a[2] + (b[2] - a[2]) * f)})`;
}
