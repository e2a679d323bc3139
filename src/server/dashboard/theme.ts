// Colours and axis styles of the charts (the page's own colours are in dashboard.css).
import type { ChannelFlag } from '../../client/protocol-types.js';

/** One colour per class, in the order of the session's classes. */
export const CLASS_COLORS = ['#3d8bfd', '#f0883e', '#3fb950', '#d2a8ff', '#f778ba', '#56d4dd'];
/** Good channels alternate between these. */
export const TRACE_COLORS = ['#6cb6ff', '#4fc1c9'];
export const FLAG_COLORS: Record<ChannelFlag, string> = { ok: '#aab6c4', flat: '#6e7fa0', noisy: '#d29922', railed: '#e5534b' };
export const CUE_COLOR = '#c678dd';
export const BAND_SYMBOLS: Record<string, string> = { delta: 'δ', theta: 'θ', alpha: 'α', beta: 'β', gamma: 'γ' };
/** uPlot axis options on the dark page. */
export const AXIS = { stroke: '#8c9aab', grid: { stroke: '#242b35', width: 1 }, ticks: { stroke: '#2a323d', width: 1 } };

export function classColor(i: number): string {
  return CLASS_COLORS[i % CLASS_COLORS.length];
}
