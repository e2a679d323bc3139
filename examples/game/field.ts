// Drawing the game's field on its canvas: drifting stars, lanes, the cue, orbs, the ship, catches
// and misses, and a banner while not running.
import { direction, FALL_SECONDS, LANES, SHIP_Y, type Game, type View } from './lanes.js';

const CLASS_COLORS: Record<string, string> = { left: '#3d8bfd', right: '#f0883e' };
const CUE_MS = 4000;
const SPARK_MS = 700;

export class Field {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly stars = Array.from({ length: 70 }, () => ({ x: Math.random(), y: Math.random(), s: 0.3 + Math.random() * 0.7 }));

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('lanes: no 2D canvas context');
    this.ctx = ctx;
  }

  draw(game: Game, view: View, now: number): void {
    const { ctx } = this;
    const { w, h, pr } = this.fit();
    const laneW = w / LANES;
    const laneX = (lane: number): number => (lane + 0.5) * laneW;
    ctx.clearRect(0, 0, w, h);

    // stars drifting down
    ctx.fillStyle = '#ffffff';
    for (const s of this.stars) {
      const y = ((s.y + (now / 1000) * 0.02 * s.s) % 1) * h;
      ctx.globalAlpha = 0.15 + 0.35 * s.s;
      ctx.fillRect(s.x * w, y, 1.5 * pr * s.s, 1.5 * pr * s.s);
    }
    ctx.globalAlpha = 1;

    // lanes
    ctx.strokeStyle = '#1d2633';
    ctx.lineWidth = pr;
    ctx.setLineDash([8 * pr, 10 * pr]);
    ctx.beginPath();
    for (let i = 1; i < LANES; i++) {
      ctx.moveTo(i * laneW, 0);
      ctx.lineTo(i * laneW, h);
    }
    ctx.stroke();
    ctx.setLineDash([]);

    // cue: an arrow and the word, fading out
    if (view.cue) {
      const age = (now - view.cue.at) / CUE_MS;
      if (age < 1) {
        const dir = direction(view.cue.label, view.cue.label);
        ctx.globalAlpha = 1 - age;
        ctx.fillStyle = CLASS_COLORS[view.cue.label] ?? '#d2a8ff';
        ctx.font = `700 ${28 * pr}px system-ui, sans-serif`;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        const arrow = dir < 0 ? '\u2190 ' : '';
        const arrowR = dir > 0 ? ' \u2192' : '';
        ctx.fillText(`${arrow}imagine ${view.cue.label.toUpperCase()}${arrowR}`, w / 2, h * 0.12);
        ctx.globalAlpha = 1;
      }
    }

    // orbs
    for (const orb of view.orbs) {
      const y = ((now - orb.born) / (FALL_SECONDS * 1000)) * h;
      const x = laneX(orb.lane);
      const r = Math.min(laneW * 0.22, 18 * pr);
      const g = ctx.createRadialGradient(x, y, r * 0.1, x, y, r * 1.8);
      g.addColorStop(0, orb.fromCue ? '#fff4c2' : '#c9f7ff');
      g.addColorStop(0.45, orb.fromCue ? '#f0c24b' : '#4fc1c9');
      g.addColorStop(1, 'rgba(0,0,0,0)');
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(x, y, r * 1.8, 0, Math.PI * 2);
      ctx.fill();
    }

    // ship
    const sx = laneX(view.shipX);
    const sy = SHIP_Y * h;
    const s = Math.min(laneW * 0.28, 30 * pr);
    ctx.fillStyle = '#e4e8ee';
    ctx.strokeStyle = '#3d8bfd';
    ctx.lineWidth = 2 * pr;
    ctx.beginPath();
    ctx.moveTo(sx, sy - s);
    ctx.lineTo(sx + s * 0.8, sy + s * 0.7);
    ctx.lineTo(sx, sy + s * 0.35);
    ctx.lineTo(sx - s * 0.8, sy + s * 0.7);
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = '#f0883e';
    ctx.globalAlpha = 0.6 + 0.4 * Math.sin(now / 60);
    ctx.beginPath();
    ctx.moveTo(sx - s * 0.25, sy + s * 0.5);
    ctx.lineTo(sx, sy + s * (0.9 + 0.2 * Math.sin(now / 45)));
    ctx.lineTo(sx + s * 0.25, sy + s * 0.5);
    ctx.fill();
    ctx.globalAlpha = 1;

    // catches and misses
    for (const sp of view.sparks) {
      const age = (now - sp.born) / SPARK_MS;
      ctx.globalAlpha = 1 - age;
      ctx.strokeStyle = sp.good ? '#3fb950' : '#e5534b';
      ctx.lineWidth = 3 * pr;
      ctx.beginPath();
      ctx.arc(laneX(sp.x), sp.y * h, (10 + 40 * age) * pr, 0, Math.PI * 2);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;

    // paused / calibrating / offline banner
    const banner = !game.connected ? 'connecting…' : game.state === 'running' ? '' : game.state === 'calibrating' ? 'calibrating: follow the cues' : game.state;
    if (banner) {
      ctx.fillStyle = '#000000aa';
      ctx.fillRect(0, h * 0.45, w, h * 0.1);
      ctx.fillStyle = '#e4e8ee';
      ctx.font = `600 ${18 * pr}px system-ui, sans-serif`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(banner, w / 2, h * 0.5);
    }
  }

  /** The canvas at its CSS size in device pixels. */
  private fit(): { w: number; h: number; pr: number } {
    const r = this.canvas.getBoundingClientRect();
    const pr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * pr));
    const h = Math.max(1, Math.round(r.height * pr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    return { w, h, pr };
  }
}
