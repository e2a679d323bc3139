import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openSource } from '../devices/open-source.js';
import { CytonSimulator } from '../devices/serial/cyton-simulator.js';
import type { InspectReport } from '../src/cli/inspect.js';
import { parseConfig } from '../src/config/config-schema.js';
import { readRecordedSession } from '../src/session/recorded-session.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { LossLog } from '../src/stream/losses.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { buildEdf } from './helpers/edf-bytes.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';
import { connect, until } from './helpers/ws-client.js';
import { like } from './helpers/like.js';

// Every loss reaches the user (issue 15): inspect's report, the session's status messages, the recording.

const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const cleanup: (() => unknown)[] = [];
let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('losses reach the user', () => {
  it("a session passes the source's gaps and warnings to clients as status messages and into its recording", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-loss-'));
    const config = parseConfig({
      source: { uri: 'synthetic:motor-imagery?seed=5', replay: { speed: 4, chunkSize: 16 } },
      pipeline: { kind: 'motor-imagery', calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=5&trials=10' } },
      server: { port: 0 },
      record: { path: path.join(dir, 'rec.xdf'), flushIntervalMs: 100 },
    });
    const source = await openSource(config.source.uri, config.source.replay);
    // A loss the source knew before anyone listened (a file's reader warning) ...
    source.losses.warning('block at byte 1234 is corrupt: skipped to byte 2048');
    session = await startSession(config, { source });
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.some((m) => m.type === 'decision'), 30_000);
    // ... and one that happens while the session runs (an outage that ended).
    source.losses.gap({ time: 12.5, samples: 1120, seconds: 7, cause: 'LSL outlet unreachable' });
    await until(() => messages.some((m) => m.type === 'status' && m.gap !== undefined), 10_000);
    ws.close();
    const gapStatus = messages.find((m) => m.type === 'status' && m.gap !== undefined)!;
    expect(gapStatus.gap).toEqual({ time: 12.5, samples: 1120, seconds: 7, cause: 'LSL outlet unreachable' });
    expect(gapStatus.detail).toBe('source: gap of 7.00 s (1120 samples) at 12.50 s: LSL outlet unreachable');
    // A late joiner is told the last thing that happened in its hello, then every loss so far
    // (the reader's warning was reported before any client could listen).
    const late = await connect(session.server.address.url);
    await until(() => late.messages.length >= 3);
    expect(late.messages[0].detail).toMatch(/gap of 7\.00 s/);
    expect(late.messages.slice(1, 3)).toMatchObject([
      { type: 'status', warning: 'block at byte 1234 is corrupt: skipped to byte 2048' },
      { type: 'status', gap: { time: 12.5, samples: 1120, seconds: 7, cause: 'LSL outlet unreachable' } },
    ]);
    late.ws.close();
    await session.stop();
    const rec = await readRecordedSession(path.join(dir, 'rec.xdf'));
    const losses = rec.entries.filter((e) => e.entry.kind === 'loss').map((e) => (e.entry as { loss: unknown }).loss);
    expect(losses).toEqual([
      { kind: 'warning', message: 'block at byte 1234 is corrupt: skipped to byte 2048' },
      { kind: 'gap', time: 12.5, samples: 1120, seconds: 7, cause: 'LSL outlet unreachable' },
    ]);
  }, 60_000);

  it('a loss log keeps a bounded number of entries and counts every one', () => {
    const log = new LossLog(3);
    for (let i = 0; i < 10; i++) log.gap({ time: i, samples: 10, seconds: 0.1, cause: 'x' });
    log.warning('w');
    const s = log.summary();
    expect(s.gaps.map((g) => g.time)).toEqual([0, 1, 2]);
    expect(s.warnings).toEqual(['w']);
    expect(s.totals).toEqual({ gaps: 10, samples: 100, seconds: like.closeTo(1, 9), warnings: 1 });
    expect(s.omitted).toBe(7);
  });
});

describe('inspect reports what a file lacks (defect 7)', () => {
  it('a truncated EDF: inspect --json lists the warning and the gap, the text output says them too', async () => {
    const ramp = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);
    const full = buildEdf({ signals: [{ label: 'Cz', records: Array.from({ length: 125 }, (_, r) => ramp(4, 4 * r)) }] });
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-cut-'));
    const file = path.join(dir, 'cut.edf');
    writeFileSync(file, full.subarray(0, 512 + 62 * 8 + 5));
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [CLI, 'inspect', `file:${file}`, '--seconds', '125', '--json']);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as InspectReport;
    expect(report.seconds).toBe(62);
    expect(report.ended).toBe('end-of-stream');
    expect(report.gaps).toEqual([{ time: 62, samples: 252, seconds: 63, cause: 'file truncated' }]);
    expect(report.warnings).toEqual([
      expect.stringMatching(/declares 125 data records but the file holds 62 complete ones .*63 records \(63 s\) are missing/),
      'the stream ended after 62.00 s of the 125 s asked for',
    ]);
    expect(report.losses).toMatchObject({ gaps: 1, samples: 252, seconds: 63, warnings: 1, omitted: 0 });
    const text = (await run(process.execPath, [CLI, 'inspect', `file:${file}`, '--seconds', '125'])).stdout;
    expect(text).toMatch(/^gap: gap of 63\.00 s \(252 samples\) at 62\.00 s: file truncated$/m);
    expect(text).toMatch(/^warning: .*63 records \(63 s\) are missing$/m);
  }, 60_000);
});

const socat = haveSocat();
describe.skipIf(!socat)('inspect of a live device that goes quiet (defect 10)', () => {
  it('ends at its deadline with what it got and says the device went quiet', async () => {
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const sim = await CytonSimulator.open({ path: pty.board, signal: () => 0 });
    cleanup.push(() => sim.close());
    const inspect = promisify(execFile)(process.execPath, [CLI, 'inspect', `serial:cyton:${pty.host}`, '--seconds', '5', '--json'], { timeout: 170_000 });
    // The board streams a second's worth, then goes silent (its end of the port closes, the port stays).
    await until(() => sim.packetsSent >= 250, 120_000);
    await sim.close();
    const { stdout } = await inspect;
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as InspectReport;
    expect(report.ended).toBe('deadline');
    expect(report.samples).toBeGreaterThan(0);
    expect(report.samples).toBeLessThan(5 * 250);
    expect(report.warnings.join('\n')).toMatch(/the source went quiet: \d+\.\d\d s of the 5 s asked for arrived/);
  }, 180_000);
});
