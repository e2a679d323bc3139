import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readEdf } from '../devices/file/edf-reader.js';
import { parseXdf } from '../devices/file/xdf-reader.js';
import { loadRecording, openSource } from '../devices/open-source.js';
import { parseConfig, type Config } from '../src/config/config-schema.js';
import { sessionReplayConfig } from '../src/cli/replay-recording.js';
import { canonicalDecisionLine } from '../src/session/event-messages.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { compareDecisionLines, recordedDecisionLines, replayDecisions, type CheckReport } from '../src/session/replay-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { PROJECT_ROOT } from './helpers/data.js';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-rec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

/** Runs a session to the end of its (finite) source and returns the recording's path. */
async function recordSession(name: string, pipeline: Record<string, unknown>, uri: string, extra: Partial<Config['record']> = {}): Promise<string> {
  const file = path.join(dir, `${name}.xdf`);
  const config = parseConfig({ name, source: { uri, replay: { speed: 'max', chunkSize: 16 } }, pipeline, server: { port: 0 }, record: { path: file, ...extra } });
  session = await startSession(config);
  const { error } = await session.done;
  expect(error).toBeUndefined();
  await session.stop();
  session = undefined;
  return file;
}

const motorImagery = {
  kind: 'motor-imagery',
  events: { left: 'left', right: 'right' },
  bandpass: { low: 8, high: 30, order: 4 },
  window: { length: 2, hop: 0.25 },
  decoder: { kind: 'csp-lda', components: 4 },
  control: { smoothing: { kind: 'ema', alpha: 0.3 }, threshold: 0.7, dwellMs: 500, refractoryMs: 1000, commands: { left: 'left', right: 'right' } },
};

describe('recording a live session to XDF, replaying it deterministically', () => {
  it('records the signal exactly, its markers, the config, the model and every decision; a replay reproduces them byte for byte', async () => {
    const uri = 'synthetic:motor-imagery?seed=11&trials=6';
    const file = await recordSession('mi-recording', { ...motorImagery, calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=1&trials=20' } }, uri, { edf: true });
    const rec = await readRecordedSession(file);
    const source = await loadRecording(uri);

    // the signal and its markers, exactly as the pipeline saw them
    expect(rec.signal.sampleCount).toBe(source.samples);
    expect(rec.data).toEqual(source.data);
    for (const k of [0, 1, 777, source.samples - 1]) expect(rec.signal.timeStamps[k]).toBeCloseTo(k / source.info.sampleRate, 12);
    expect(rec.markers.map((m) => [m.time, m.value])).toEqual(source.markers.map((m) => [m.time, m.value]));
    expect(rec.signal.channels.map((c) => c.label)).toEqual(source.info.channels.map((c) => c.label));
    // the session's own record
    expect(rec.config?.pipeline.kind).toBe('motor-imagery');
    expect(rec.models).toHaveLength(1);
    expect((rec.models[0].model as { format: string }).format).toBe('neurorx.motor-imagery');
    expect(rec.starts.input).toBe(0);
    expect(rec.starts.decode).toBe(0);
    const live = recordedDecisionLines(rec);
    // one decision per 0.25 s hop after the first 2 s window
    expect(live.length).toBe(Math.floor((source.samples - 320) / 40) + 1);
    expect(rec.messages.some((m) => m.message.type === 'status')).toBe(true);

    // the live chunking is kept: 16-sample chunks, the markers that rode on each
    expect(rec.chunks!.samples.reduce((a, b) => a + b, 0)).toBe(source.samples);
    expect([...new Set(rec.chunks!.samples.subarray(0, -1))]).toEqual([16]);
    expect(rec.chunks!.markers.reduce((a, b) => a + b, 0)).toBe(source.markers.length);

    // Three replays (the live chunks, then the signal cut anew) give the same bytes, and the same as live.
    const runs = await Promise.all([undefined, 7, 500].map(async (chunkSize) => (await replayDecisions(rec, { chunkSize })).lines.join('\n')));
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
    const report = compareDecisionLines(live, runs[0].split('\n'));
    expect(report).toMatchObject({ differences: 0, identical: live.length });

    // As a plain source (file:x.xdf) the recording gives the signal and its markers, not the JSON records.
    const plain = await loadRecording(`file:${file}`);
    expect(plain.data).toEqual(source.data);
    expect(plain.markers.map((m) => m.value)).toEqual(source.markers.map((m) => m.value));

    // `neurorx replay session.xdf` (over WebSocket): the recorded config and model, the same decisions
    const replayConfig = await sessionReplayConfig(file, { speed: 'max', chunk: 16, loop: false, port: 0 });
    expect(replayConfig?.pipeline.kind).toBe('motor-imagery');
    const served: string[] = [];
    session = await startSession(replayConfig!, { onEvent: (e) => void (e.kind === 'decision' && served.push(canonicalDecisionLine({ type: 'decision', ...e.decision }))) });
    await session.done;
    await session.stop();
    session = undefined;
    expect(served).toEqual(live);

    // EDF+ export beside it: the signal within a quantisation step, every marker as an annotation
    const edf = await readEdf(file.replace(/\.xdf$/, '.edf'));
    expect(edf.info.channels.map((c) => c.label)).toEqual(source.info.channels.map((c) => c.label));
    expect(edf.samples).toBeGreaterThanOrEqual(source.samples);
    expect(edf.markers.map((m) => m.value)).toEqual(source.markers.map((m) => m.value));
    for (let i = 0; i < source.markers.length; i++) expect(edf.markers[i].time).toBeCloseTo(source.markers[i].time, 6);
    let worst = 0;
    for (let i = 0; i < source.samples * source.info.channels.length; i += 97) worst = Math.max(worst, Math.abs(edf.data[i] - source.data[i]));
    expect(worst).toBeLessThan(0.1); // µV: 16-bit steps over a few hundred µV of range
  }, 120_000);

  it('a session that calibrates on its own live stream replays from where its decoder started', async () => {
    const file = await recordSession('mi-stream-calibration', { ...motorImagery, calibration: { from: 'stream', trialsPerClass: 8, cues: 'stream' } }, 'synthetic:motor-imagery?seed=5&trials=30');
    const rec = await readRecordedSession(file);
    expect(rec.models).toHaveLength(1);
    expect(rec.starts.input).toBe(0);
    expect(rec.starts.decode).toBeGreaterThan(0); // training took a while: the decoder started later
    // the cues the pipeline saw went into the decisions stream
    expect(rec.messages.filter((m) => m.message.type === 'cue').length).toBeGreaterThanOrEqual(16);
    const live = recordedDecisionLines(rec);
    expect(live.length).toBeGreaterThan(100);
    const replay = await replayDecisions(rec);
    expect(compareDecisionLines(live, replay.lines)).toMatchObject({ differences: 0, identical: live.length });
  }, 120_000);

  it('replay --check reports identical decisions (exit 0); with another config it names what differs (exit 1); --out is byte-identical over 3 runs', async () => {
    const file = await recordSession('mi-cli', { ...motorImagery, calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=2&trials=20' } }, 'synthetic:motor-imagery?seed=12&trials=4');
    const ok = await run(process.execPath, [CLI, 'replay', file, '--check', '--json']);
    const report = JSON.parse(ok.stdout.trim().split('\n').pop()!) as CheckReport;
    expect(report.differences).toBe(0);
    expect(report.identical).toBe(report.live);
    expect(report.live).toBeGreaterThan(50);

    const outs = [1, 2, 3].map((k) => path.join(dir, `decisions-${k}.jsonl`));
    for (const out of outs) await run(process.execPath, [CLI, 'replay', file, '--out', out]);
    const bytes = outs.map((o) => readFileSync(o));
    expect(bytes[0].length).toBeGreaterThan(1000);
    expect(bytes[1].equals(bytes[0])).toBe(true);
    expect(bytes[2].equals(bytes[0])).toBe(true);

    // decoding with a slower smoother than the live session: the check must fail and say where
    const other = path.join(dir, 'other.json');
    const rec = await readRecordedSession(file);
    const changed = {
      ...rec.config!,
      pipeline: { ...rec.config!.pipeline, control: { ...(rec.config!.pipeline as { control: object }).control, smoothing: { kind: 'ema', alpha: 0.9 } } },
      record: undefined,
    };
    await import('node:fs/promises').then((fs) => fs.writeFile(other, JSON.stringify(changed)));
    const bad = await run(process.execPath, [CLI, 'replay', file, '--check', '--config', other]).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stdout).toMatch(/\d+ identical, \d+ different/);
    expect(bad?.stdout).toMatch(/smoothed/);
  }, 120_000);

  it('a recording that cannot be made stops the session from starting, naming record.path and why', async () => {
    const existing = path.join(dir, 'taken.xdf');
    await import('node:fs/promises').then((fs) => fs.writeFile(existing, 'precious'));
    const config = (p: string) =>
      parseConfig({ source: { uri: 'synthetic:motor-imagery?seed=1' }, pipeline: { ...motorImagery, calibration: { from: 'stream', trialsPerClass: 2 } }, server: { port: 0 }, record: { path: p } });
    await expect(startSession(config(existing))).rejects.toThrow(/record\.path: .*taken\.xdf exists; a recording is never overwritten/);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
    await expect(startSession(config(path.join(existing, 'under-a-file', 'x.xdf')))).rejects.toThrow(/record\.path: cannot create .*ENOTDIR/);
  });

  it('`neurorx record` writes N seconds of a source; SIGKILL mid-session leaves a file readable up to its last flush', async () => {
    const uri = 'synthetic:motor-imagery?seed=21';
    const full = path.join(dir, 'two-seconds.xdf');
    await run(process.execPath, [CLI, 'record', uri, '--out', full, '--seconds', '2', '--speed', 'max']);
    const two = await readRecordedSession(full);
    expect(two.signal.sampleCount).toBe(320); // 2 s at 160 Hz
    expect(two.signal.footer?.sampleCount).toBe(320);

    // the same source, in real time, killed after ~2.5 s
    const killed = path.join(dir, 'killed.xdf');
    const child = spawn(process.execPath, [CLI, 'record', uri, '--out', killed, '--flush', '200'], { stdio: 'ignore' });
    // wait until over 1.5 s of signal is in the file, then kill it 100 ms after noting its size
    const started = Date.now();
    const exact = { synchronizeClocks: false, dejitterTimestamps: false };
    while (Date.now() - started < 20_000) {
      await new Promise((r) => setTimeout(r, 100));
      // (the file exists, still empty, from the moment the recorder creates it until its first flush)
      if (existsSync(killed) && statSync(killed).size >= 4 && (parseXdf(readFileSync(killed), exact).streams[0]?.sampleCount ?? 0) >= 240) break;
    }
    const sizeBeforeKill = statSync(killed).size;
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    expect(child.exitCode).toBeNull(); // still recording when killed
    child.kill('SIGKILL');
    await exited;
    const bytes = readFileSync(killed);
    expect(bytes.length).toBeGreaterThanOrEqual(sizeBeforeKill);
    const doc = parseXdf(bytes, exact);
    const signal = doc.streams[0];
    expect(signal.footer).toBeUndefined(); // never closed
    // everything flushed before the kill is there: at least what the file held 100 ms before it
    const before = parseXdf(bytes.subarray(0, sizeBeforeKill), exact).streams[0];
    expect(signal.sampleCount).toBeGreaterThanOrEqual(before.sampleCount);
    expect(before.sampleCount).toBeGreaterThanOrEqual(240);
    // and it is the source's signal, sample for sample
    const live = await openSource(uri, { speed: 'max', chunkSize: 64 });
    const chunks = await lastValueFrom(live.chunks$.pipe(take(Math.ceil(signal.sampleCount / 64)), toArray()));
    const expected = new Float32Array(chunks.reduce((n, c) => n + c.data.length, 0));
    let at = 0;
    for (const c of chunks) {
      expected.set(c.data, at);
      at += c.data.length;
    }
    const got = signal.timeSeries as Float32Array;
    expect(got).toEqual(expected.subarray(0, got.length));
  }, 60_000);
});
