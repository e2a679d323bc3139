/** Figures and verdict of the soak (soak.ts): percentiles, slopes, the per-minute table. */

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Least-squares slope of y over x; null with fewer than 3 points. */
export function slope(points: readonly { x: number; y: number }[]): number | null {
  const n = points.length;
  if (n < 3) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : null;
}

export interface MinuteRow {
  minute: number;
  /** The server's VmRSS at the end of the minute, and the largest of the minute's samples (MB). */
  rssMB: number | null;
  rssMaxMB: number | null;
  heapUsedMB: number | null;
  /** The decisions' latencyMs, p50/p99 (first fast client; every client gets the same decisions). */
  latencyMs: { p50: number | null; p99: number | null };
  /** Arrival at the fast clients minus the window's last sample time (host clock), p50/p99. */
  arrivalMs: { p50: number | null; p99: number | null };
  /** Decisions received this minute, per client (in the order of `clients` in the summary). */
  decisions: number[];
  /** Messages the server dropped so far for the fast clients (summed) and for the slow one. */
  messagesDropped: { fast: number; slow: number };
  /** Samples the session reported lost this minute (stats.samplesDropped), and loss messages. */
  gapSamples: number;
  lossNotices: number;
  /** Lines of the session log from the serial reader (port closed, retries). */
  serialLog: number;
  /** Serial outages this minute after which the source came back (its gap reported). */
  reconnects: number;
  events: string[];
}

const f = (v: number | null, digits = 1): string => (v === null ? '-' : v.toFixed(digits));

export const TABLE_HEADER = 'min   rss MB (max)   heap MB  latency p50/p99 ms  arrival p50/p99 ms  decisions per client     dropped fast/slow  gap samples  loss msgs  serial log  reconnects  events';

export function formatRow(r: MinuteRow): string {
  return [
    String(r.minute).padStart(3),
    `${f(r.rssMB)} (${f(r.rssMaxMB)})`.padStart(14),
    f(r.heapUsedMB).padStart(9),
    `${f(r.latencyMs.p50)} / ${f(r.latencyMs.p99)}`.padStart(19),
    `${f(r.arrivalMs.p50)} / ${f(r.arrivalMs.p99)}`.padStart(19),
    r.decisions.join(',').padStart(22),
    `${r.messagesDropped.fast} / ${r.messagesDropped.slow}`.padStart(18),
    String(r.gapSamples).padStart(12),
    String(r.lossNotices).padStart(10),
    String(r.serialLog).padStart(11),
    String(r.reconnects).padStart(11),
    ` ${r.events.join('; ')}`,
  ].join(' ');
}
