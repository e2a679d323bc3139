import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ChildGuard, stopChild } from './child-guard.js';

/** The neurorx command line as built (npm run soak builds it first). */
export interface Cli {
  readonly node: string;
  readonly main: string;
}

/** How a deliberate outage happens: the pty pair vanishes (a USB dongle pulled out), or only the board goes silent. */
export type OutageKind = 'unplug' | 'board';

/** Resolves with the first line of `stream` matching `re`; rejects when the child exits first or after `ms`. */
export function waitForLine(child: ChildProcess, stream: NodeJS.ReadableStream, re: RegExp, what: string, ms = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    const done = (f: () => void): void => {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      f();
    };
    const onLine = (line: string): void => {
      const m = re.exec(line);
      if (m) done(() => resolve(m));
    };
    const onExit = (code: number | null, signal: string | null): void => done(() => reject(new Error(`${what} exited (${code ?? signal}) before it was ready`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${what} was not ready after ${ms / 1000} s`))), ms);
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A simulated OpenBCI Cyton behind a socat pseudo-terminal pair, as separate processes that can be
 * killed and brought back: `socat` (the USB dongle) and `neurorx serial simulate` (the board).
 * The host end appears under its final name only once the board listens (socat makes it under a
 * temporary name, renamed when the simulator is ready), as a dongle with a streaming board behind
 * it does: a reader that opened the port earlier would send its start command into a pty that the
 * simulator flushes when it opens its end.
 */
export class SimulatedBoard {
  readonly boardPath: string;
  readonly hostPath: string;
  private socat: ChildProcess | undefined;
  private simulator: ChildProcess | undefined;

  constructor(
    private readonly guard: ChildGuard,
    private readonly cli: Cli,
    dir: string,
  ) {
    this.boardPath = path.join(dir, 'board');
    this.hostPath = path.join(dir, 'host');
  }

  /** Starts whatever is down (socat, then the simulator), and shows the host end. */
  async up(): Promise<void> {
    const pending = `${this.hostPath}.pending`;
    if (!this.running(this.socat)) {
      rmSync(pending, { force: true });
      this.socat = this.guard.spawn('socat', [`pty,raw,echo=0,link=${this.boardPath}`, `pty,raw,echo=0,link=${pending}`], { stdio: 'ignore' });
      const socat = this.socat;
      await until(() => (existsSync(this.boardPath) && existsSync(pending)) || !this.running(socat), 'socat made no pty pair', 10_000);
      if (!this.running(socat)) throw new Error(`socat exited (${socat.exitCode ?? socat.signalCode}) without making the pty pair`);
    }
    if (!this.running(this.simulator)) {
      this.simulator = this.guard.spawn(this.cli.node, [this.cli.main, 'serial', 'simulate', this.boardPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForLine(this.simulator, this.simulator.stderr!, /waiting for commands/, 'neurorx serial simulate');
    }
    if (existsSync(pending)) renameSync(pending, this.hostPath);
  }

  /**
   * `unplug`: socat is killed (both ends vanish, the reader's port closes), then the board;
   * `board`: only the simulator is killed: the port stays open and silent.
   */
  async down(kind: OutageKind): Promise<void> {
    if (kind === 'unplug') {
      if (this.socat) await stopChild(this.socat, 'SIGKILL');
      rmSync(this.hostPath, { force: true }); // a killed socat leaves its links behind
      rmSync(this.boardPath, { force: true });
    }
    if (this.simulator) await stopChild(this.simulator, 'SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.simulator) await stopChild(this.simulator);
    if (this.socat) await stopChild(this.socat);
  }

  private running(c: ChildProcess | undefined): boolean {
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }
}

/** What the soak's probe (soak-probe.ts, loaded into the server) reports. */
export interface ProbeReport {
  rss: number;
  heapUsed: number;
}

/**
 * `neurorx run <config>` as a child process, with the soak probe loaded (`--import`) to report its
 * heap. Its stderr (the session log) is passed to `onLog` line by line.
 */
export class ServerProcess {
  heap: ProbeReport | undefined;
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m: { soakProbe?: ProbeReport }) => {
      if (m.soakProbe) this.heap = m.soakProbe;
    });
  }

  static async start(guard: ChildGuard, cli: Cli, config: string, probe: string, onLog: (line: string) => void): Promise<ServerProcess> {
    const child = guard.spawn(cli.node, ['--import', probe, cli.main, 'run', config], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    createInterface({ input: child.stderr! }).on('line', onLog);
    const m = await waitForLine(child, child.stderr!, /-> (ws:\/\/[^\s/]+)/, 'neurorx run', 120_000);
    return new ServerProcess(child, m[1]);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size (MB) from /proc/<pid>/status (VmRSS); undefined once it is gone. */
  rssMB(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}
