// Emotion estimates: valence (x) and arousal (y) on a [-1, 1] square with the quadrants named, the
// recent trail and the current estimate. Shown once the first estimate arrives.
import type { EmotionAxis } from '../../client/protocol-types.js';
import { byId, clearCanvas } from './dom.js';
import type { Model } from './model.js';
import type { Probe } from './probe.js';

export class EmotionPanel {
  private readonly panel = byId('emotion-panel');
  private readonly now = byId('emotion-now');
  private readonly plane = byId<HTMLCanvasElement>('emotion-plane');

  constructor(
    private readonly model: Model,
    private readonly probe: Probe,
  ) {}

  draw(): void {
    const m = this.probe.lastEmotion;
    if (!m) return;
    this.panel.hidden = false;
    const axis = (name: string, a: EmotionAxis | undefined): string => (a ? `${name} ${a.label} (${a.score >= 0 ? '+' : ''}${a.score.toFixed(2)})` : '');
    this.now.textContent = [axis('valence', m.valence), axis('arousal', m.arousal)].filter(Boolean).join(' · ');
    const { g, w, h, pr } = clearCanvas(this.plane, 180);
    const x = (v: number): number => w / 2 + (v * (w - 20 * pr)) / 2;
    const y = (a: number): number => h / 2 - (a * (h - 20 * pr)) / 2;
    g.strokeStyle = '#2a323d';
    g.beginPath();
    g.moveTo(x(-1), y(0));
    g.lineTo(x(1), y(0));
    g.moveTo(x(0), y(-1));
    g.lineTo(x(0), y(1));
    g.stroke();
    g.fillStyle = '#8c9aab';
    g.font = `${10 * pr}px system-ui, sans-serif`;
    g.fillText('tense', 6 * pr, 14 * pr);
    g.fillText('excited', w - 44 * pr, 14 * pr);
    g.fillText('sad', 6 * pr, h - 6 * pr);
    g.fillText('calm', w - 32 * pr, h - 6 * pr);
    const trail = this.model.emotionTrail;
    trail.forEach((p, i) => {
      const last = i === trail.length - 1;
      g.globalAlpha = last ? 1 : 0.15 + (0.5 * i) / trail.length;
      g.fillStyle = last ? '#f0883e' : '#3d8bfd';
      g.beginPath();
      g.arc(x(p.v), y(p.a), (last ? 6 : 3) * pr, 0, 2 * Math.PI);
      g.fill();
    });
    g.globalAlpha = 1;
  }
}
