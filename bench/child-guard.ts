import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * The child processes of a bench script (CPU burners, socat, a simulator, a server), none of which
 * may outlive it: every exit path kills them. A normal exit, an uncaught exception or an
 * unhandled rejection runs the 'exit' handler (SIGKILL to each); SIGINT, SIGTERM and SIGHUP run
 * the script's `onSignal` clean-up first. Against the one death no handler sees (SIGKILL, the OOM
 * killer) a detached watchdog holds the children's pids and kills them when its stdin, a pipe from
 * this process, closes.
 */
const WATCHDOG = `
const pids = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) {
    const line = buf.slice(0, i);
    (line[0] === '+' ? pids.add : pids.delete).call(pids, Number(line.slice(1)));
  }
});
process.stdin.on('close', () => {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  process.exit(0);
});`;

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

export class ChildGuard {
  private readonly children = new Set<ChildProcess>();
  private readonly watchdog: ChildProcess;

  /** `onSignal` stops the script's work (the guard kills the children after it, whatever it did). */
  constructor(onSignal: (signal: NodeJS.Signals) => Promise<void> | void = () => {}) {
    this.watchdog = spawn(process.execPath, ['-e', WATCHDOG], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref(): void }).unref();
    this.watchdog.stdin!.on('error', () => {});
    process.on('exit', () => this.killAll('SIGKILL'));
    let stopping = false;
    for (const [signal, number] of Object.entries(SIGNALS) as [NodeJS.Signals, number][]) {
      process.on(signal, () => {
        if (stopping) process.exit(128 + number); // a second Ctrl-C: no more waiting (the 'exit' handler still kills)
        stopping = true;
        console.error(`\n${signal}: stopping`);
        const timer = setTimeout(() => process.exit(128 + number), 10_000);
        void Promise.resolve()
          .then(() => onSignal(signal))
          .finally(() => {
            clearTimeout(timer);
            process.exit(128 + number);
          });
      });
    }
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, options);
    if (child.pid === undefined) return child; // failed to start: its 'error' event says why
    this.children.add(child);
    this.tell(`+${child.pid}`);
    child.once('exit', () => {
      this.children.delete(child);
      this.tell(`-${child.pid}`);
    });
    return child;
  }

  killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  }

  private tell(line: string): void {
    if (this.watchdog.stdin?.writable) this.watchdog.stdin.write(line + '\n');
  }
}

/** Sends `signal`, waits for the exit (SIGKILL after `graceMs`); resolves with the exit code or signal. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const result = await exited;
  clearTimeout(timer);
  return result;
}
