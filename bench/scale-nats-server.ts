import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acceptsOnLoopback, freeLoopbackPort, sbinCommand } from '../src/util/loopback.js';
import type { ChildGuard } from './child-guard.js';

/**
 * A throw-away nats-server (JetStream on: the EEG publisher keeps stream descriptions in a
 * key-value bucket) on a loopback port free at the time, for bench:scale. Started on every core
 * the machine has, not on the core the bench pinned itself to (the broker is not what is measured).
 */

const NATS_SERVER = sbinCommand('nats-server');

export const haveNatsServer = (): boolean => spawnSync(NATS_SERVER, ['--version'], { stdio: 'ignore' }).error === undefined;
export const haveTaskset = (): boolean => spawnSync('taskset', ['--version'], { stdio: 'ignore' }).error === undefined;

/** `command args` spread over every core (children inherit the bench's pinning otherwise). */
export function unpinned(command: string, args: readonly string[]): [string, string[]] {
  return haveTaskset() ? ['taskset', ['-c', `0-${os.cpus().length - 1}`, command, ...args]] : [command, [...args]];
}

export class BenchNatsServer {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** `guard` kills the server should the bench die without cleaning up. */
  static async start(guard: ChildGuard): Promise<BenchNatsServer> {
    const port = await freeLoopbackPort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-bench-nats-'));
    const [cmd, args] = unpinned(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]);
    const proc = guard.spawn(cmd, args, { stdio: 'ignore' });
    const server = new BenchNatsServer(port, proc, dir);
    const t0 = Date.now();
    while (!(await acceptsOnLoopback(port))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with code ${proc.exitCode}`);
      if (Date.now() - t0 > 15_000) {
        await server.dispose();
        throw new Error(`nats-server did not listen on ${port} within 15 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  }

  async dispose(): Promise<void> {
    const proc = this.proc;
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
