import type { CueMark } from './model.js';
import { CUE_COLOR } from './theme.js';
import type { uPlot } from './uplot-global.js';

/** A dashed line and the label at each cue inside the chart's time range (the signal and probability charts). */
export function drawCueLines(u: uPlot, cues: readonly CueMark[], pr: number): void {
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  const xmin = u.scales.x.min!;
  const xmax = u.scales.x.max!;
  ctx.strokeStyle = CUE_COLOR;
  ctx.fillStyle = CUE_COLOR;
  ctx.setLineDash([4 * pr, 3 * pr]);
  ctx.font = `${10 * pr}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  for (const cue of cues) {
    if (cue.t < xmin || cue.t > xmax) continue;
    const x = Math.round(u.valToPos(cue.t, 'x', true)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText(cue.label, x + 3 * pr, top + 2 * pr);
  }
  ctx.setLineDash([]);
}
