import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { wsText } from '../../src/server/ws-text.js';
import { PROJECT_ROOT } from './data.js';

/** Channels a pool test decodes: few, so that 30 sessions stay light on a busy 2-core machine. */
const CHANNELS = ['C3', 'Cz', 'C4', 'CP3', 'CP4', 'FC3', 'FC4', 'Pz'];

/**
 * A real-time motor-imagery session on a seeded synthetic stream, calibrated from a short finite
 * synthetic recording (a second, so a session that is taken over and does not calibrate shows it),
 * deciding 4 times a second.
 */
export function syntheticSession(name: string, seed: number): Record<string, unknown> {
  return {
    name,
    source: { uri: `synthetic:motor-imagery?seed=${seed}`, replay: { speed: 1, chunkSize: 16 } },
    pipeline: {
      kind: 'motor-imagery',
      channels: CHANNELS,
      window: { length: 1, hop: 0.25 },
      calibration: { from: 'recording', source: `synthetic:motor-imagery?seed=${1000 + seed}&trials=10` },
    },
  };
}

/** The same on an EDF recording of EEGMMIDB, looped, calibrated on the recording itself. */
export function edfSession(name: string, file: string): Record<string, unknown> {
  return {
    name,
    source: { uri: `file:${file}`, replay: { speed: 1, chunkSize: 16, loop: true } },
    pipeline: {
      kind: 'motor-imagery',
      channels: CHANNELS,
      events: { T1: 'left', T2: 'right' },
      window: { length: 1, hop: 0.25 },
      calibration: { from: 'recording', source: `file:${file}` },
    },
  };
}

/** A `neurorx worker` process; its stderr kept. */
export interface WorkerProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  stderr: string;
  readonly exited: Promise<number | null>;
}

export function spawnWorker(name: string, nats: readonly string[], extra: readonly string[] = []): WorkerProcess {
  const proc = spawn(process.execPath, ['bin/neurorx.js', 'worker', '--nats', nats.join(','), '--name', name, ...extra], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const w: WorkerProcess = { name, proc, stderr: '', exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (w.stderr += d));
  return w;
}

/** A `neurorx gateway` process on a free port; resolves once it listens (its URL from its log). */
export async function spawnGateway(nats: readonly string[], extra: readonly string[] = []): Promise<WorkerProcess & { url: string }> {
  const g = spawnWorkerLike(['gateway', '--nats', nats.join(','), '--port', '0', ...extra]);
  const t0 = Date.now();
  for (;;) {
    const m = /gateway: (http:\/\/[^ ]+)\//.exec(g.stderr);
    if (m) return { ...g, url: m[1] };
    if (Date.now() - t0 > 60_000) throw new Error(`the gateway did not start: ${g.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function spawnWorkerLike(args: readonly string[]): WorkerProcess {
  const proc = spawn(process.execPath, ['bin/neurorx.js', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const w: WorkerProcess = { name: args[0], proc, stderr: '', exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (w.stderr += d));
  return w;
}

/** Stops a process (SIGTERM, then SIGKILL after `ms`). */
export async function stopProcess(w: WorkerProcess, ms = 10_000): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  w.proc.kill('SIGTERM');
  const killer = setTimeout(() => w.proc.kill('SIGKILL'), ms);
  await w.exited;
  clearTimeout(killer);
}

/** A light WebSocket client: keeps only the seq of each decision it gets, in order, and the other messages' types. */
export interface SeqClient {
  readonly ws: WebSocket;
  readonly seqs: number[];
  readonly others: Record<string, unknown>[];
}

export function seqClient(url: string): Promise<SeqClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const c: SeqClient = { ws, seqs: [], others: [] };
    ws.on('message', (d) => {
      const m = JSON.parse(wsText(d)) as { type: string; seq?: number };
      if (m.type === 'decision') c.seqs.push(m.seq!);
      else c.others.push(m);
    });
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
  });
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where a run of seqs is not consecutive: [before, after] pairs. */
export function seqGaps(seqs: readonly number[]): [number, number][] {
  const gaps: [number, number][] = [];
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1] + 1) gaps.push([seqs[i - 1], seqs[i]]);
  return gaps;
}
