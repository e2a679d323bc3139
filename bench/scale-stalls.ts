import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { haveTaskset } from './scale-nats-server.js';

/**
 * How often this machine stops a runnable thread: a busy loop pinned to each core in turn, with
 * nothing else of the bench running, counts the gaps between two consecutive clock reads. On bare
 * metal they stay in the microseconds; a virtual machine whose host deschedules its cores shows
 * gaps of milliseconds, which land on any latency path whatever runs on it.
 */

export interface CoreStalls {
  readonly core: number;
  readonly seconds: number;
  /** Gaps over 1 ms, per second. */
  readonly over1msPerSecond: number;
  readonly over3ms: number;
  readonly maxMs: number;
}

const LOOP = `
const end = process.hrtime.bigint() + BigInt(Math.round(Number(process.argv[1]) * 1e9));
let last = process.hrtime.bigint(), over1 = 0, over3 = 0, max = 0n;
for (;;) {
  const t = process.hrtime.bigint(), gap = t - last;
  if (gap > 1000000n) { over1++; if (gap > 3000000n) over3++; if (gap > max) max = gap; }
  last = t;
  if (t > end) break;
}
process.stdout.write(JSON.stringify({ over1, over3, maxMs: Number(max) / 1e6 }));
`;

export function machineStalls(seconds: number): CoreStalls[] {
  if (!haveTaskset()) return [];
  return os.cpus().map((_, core) => {
    const run = spawnSync('taskset', ['-c', String(core), process.execPath, '-e', LOOP, String(seconds)], { encoding: 'utf8' });
    const r = JSON.parse(run.stdout) as { over1: number; over3: number; maxMs: number };
    return { core, seconds, over1msPerSecond: Math.round((r.over1 / seconds) * 100) / 100, over3ms: r.over3, maxMs: Math.round(r.maxMs * 100) / 100 };
  });
}
