import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { haveTaskset } from './scale-nats-server.js';

/**
 * Where bench:scale runs: pinned to one core (so "sessions per core" means one core, the host's
 * main thread and the sessions' worker thread sharing it), and what the machine is.
 */

const PINNED_ENV = 'NEURORX_BENCH_PINNED_CORE';

/**
 * Re-runs this script under `taskset -c <core>` unless it already runs so (or taskset is missing,
 * or NEURORX_BENCH_NO_PIN=1). Returns the exit code of the pinned run, or undefined: go on here.
 */
export function pinnedRerun(): number | undefined {
  if (process.env[PINNED_ENV] !== undefined || process.env.NEURORX_BENCH_NO_PIN === '1' || !haveTaskset()) return undefined;
  // The last core by default: the first one takes most interrupts on many machines.
  const core = process.env.NEURORX_BENCH_CORE ?? String(os.cpus().length - 1);
  const run = spawnSync('taskset', ['-c', core, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [PINNED_ENV]: core },
  });
  if (run.error) throw run.error;
  return run.status ?? 1;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly loadAverageAtStart: readonly number[];
  /** The core the process is pinned to, or null (taskset missing or pinning turned off). */
  readonly pinnedToCore: string | null;
  readonly node: string;
  readonly platform: string;
  readonly totalMemoryMb: number;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    pinnedToCore: process.env[PINNED_ENV] ?? null,
    node: process.version,
    platform: `${process.platform} ${os.release()}`,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
  };
}

/**
 * Lets this process (every thread of it) run on all cores again, after the per-core part: the
 * latency and fan-out figures are about a machine, not a core. Returns whether it did.
 */
export function unpinSelf(): boolean {
  if (process.env[PINNED_ENV] === undefined) return false;
  const run = spawnSync('taskset', ['-a', '-p', '-c', `0-${os.cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
  return run.status === 0;
}
