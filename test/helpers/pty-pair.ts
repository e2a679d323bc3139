import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Whether socat is here; in CI (which installs it) its absence is an error. */
export function haveSocat(): boolean {
  const ok = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
  if (!ok && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error('socat is missing (.ci/run installs it)');
  if (!ok) console.warn('skipping: socat is not installed (apt-get install socat)');
  return ok;
}

/** A real pseudo-terminal pair from socat: `board` and `host` are the two ends' paths. */
export class PtyPair {
  private proc: ChildProcess | undefined;
  readonly board: string;
  readonly host: string;

  constructor(dir = mkdtempSync(path.join(tmpdir(), 'neurorx-pty-'))) {
    this.board = path.join(dir, 'board');
    this.host = path.join(dir, 'host');
  }

  async start(): Promise<this> {
    this.proc = spawn('socat', [`pty,raw,echo=0,link=${this.board}`, `pty,raw,echo=0,link=${this.host}`], { stdio: 'ignore' });
    const t0 = Date.now();
    while (!(existsSync(this.board) && existsSync(this.host))) {
      if (Date.now() - t0 > 5000) throw new Error('socat did not create the pty pair');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this;
  }

  /** Kills socat: both ends vanish, as when a USB dongle is pulled out. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
    const t0 = Date.now();
    while (existsSync(this.board) || existsSync(this.host)) {
      if (Date.now() - t0 > 2000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
