import { afterEach, describe, expect, it } from 'vitest';
import { CytonFramer } from '../devices/serial/cyton-framer.js';
import { channelSettingsCommand, encodePacket, microvoltsPerCount, type CytonPacket } from '../devices/serial/cyton-protocol.js';
import { CytonSimulator, type SignalFn } from '../devices/serial/cyton-simulator.js';
import { openCytonSource, type CytonSource } from '../devices/serial/cyton-source.js';
import type { InspectReport } from '../src/cli/inspect.js';
import type { Chunk } from '../src/stream/types.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';
import { until } from './helpers/ws-client.js';

const LSB = microvoltsPerCount(24);
/** A known signal in whole ADC counts: sample k, channel c -> distinct, sign-changing values. */
const counts = (k: number, c: number): number => ((k * 7919 + c * 104729) % 16_000_001) - 8_000_000;
const known: SignalFn = (k, c) => counts(k, c) * LSB;

describe('Cyton packets', () => {
  it("decode 24-bit big-endian two's complement channels and resynchronise after garbage", () => {
    const p1 = encodePacket(7, [1, -1, 8388607, -8388608, 0, 256, -256, 65536]);
    expect([...p1.subarray(0, 5)]).toEqual([0xa0, 7, 0, 0, 1]);
    expect([...p1.subarray(5, 8)]).toEqual([0xff, 0xff, 0xff]);
    expect(p1[32]).toBe(0xc0);
    const framer = new CytonFramer();
    const got: CytonPacket[] = [];
    const garbage = Buffer.from([1, 2, 0xa0, 3, 0xc0, 9, 9]); // includes a start byte with no packet behind it
    const stream = Buffer.concat([p1, garbage, encodePacket(8, [5]), encodePacket(9, [6])]);
    for (let i = 0; i < stream.length; i += 5) framer.push(stream.subarray(i, i + 5), (p) => got.push(p));
    expect(got.map((p) => p.counter)).toEqual([7, 8, 9]);
    expect(Array.from(got[0].counts)).toEqual([1, -1, 8388607, -8388608, 0, 256, -256, 65536]);
    expect(framer.garbageBytes).toBe(garbage.length);
  });

  it('builds channel-settings commands as the SDK documents them', () => {
    expect(channelSettingsCommand(1, 24)).toBe('x1060110X');
    expect(channelSettingsCommand(16, 1, { bias: false, srb2: false })).toBe('xI000000X');
    expect(() => channelSettingsCommand(3, 5)).toThrow('Cyton gain 5 is not one of 1, 2, 4, 6, 8, 12, 24');
  });
});

const socat = haveSocat();
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function rig(daisy: boolean, signal: SignalFn = known): Promise<{ pty: PtyPair; sim: CytonSimulator; source: CytonSource; chunks: Chunk[] }> {
  const pty = await new PtyPair().start();
  cleanup.push(() => pty.kill());
  const sim = await CytonSimulator.open({ path: pty.board, daisy, signal });
  cleanup.push(() => sim.close());
  const source = openCytonSource({ path: pty.host, daisy });
  const chunks: Chunk[] = [];
  const sub = source.chunks$.subscribe((c) => chunks.push(c));
  cleanup.push(() => sub.unsubscribe());
  return { pty, sim, source, chunks };
}

const total = (chunks: Chunk[]): number => chunks.reduce((s, c) => s + c.samples, 0);

describe.skipIf(!socat)('Cyton over a real pseudo-terminal pair (serialport binding, simulated board)', () => {
  it('reads a known signal back in microvolts within 1 LSB, at 250 Hz, every sample in order', async () => {
    const { chunks, source } = await rig(false);
    await until(() => total(chunks) >= 500, 30_000);
    expect(source.info.channels).toHaveLength(8);
    let worst = 0;
    let k0 = -1;
    for (const c of chunks) {
      for (let s = 0; s < c.samples; s++) {
        const k = c.firstSample + s;
        if (k0 < 0) k0 = k;
        for (let ch = 0; ch < 8; ch++) worst = Math.max(worst, Math.abs(c.data[s * 8 + ch] - known(k, ch)));
      }
    }
    expect(k0).toBe(0);
    expect(worst).toBeLessThanOrEqual(LSB);
    expect(source.stats).toMatchObject({ garbageBytes: 0, droppedPackets: 0, droppedSamples: 0 });
    // Smoothed host timestamps: every step positive, and about a sample period, not the bursts of
    // the reads (raw read times would give a median step of 0). How close to 1/250 s they come is a
    // timing figure that depends on the machine's load: not asserted here.
    const ts = chunks.flatMap((c) => Array.from(c.timestamps!));
    const steps = ts.slice(1).map((t, i) => t - ts[i]);
    expect(Math.min(...steps)).toBeGreaterThan(0);
    const median = steps.sort((a, b) => a - b)[steps.length >> 1];
    expect(median).toBeGreaterThan(0.5 / 250);
    expect(median).toBeLessThan(2 / 250);
  }, 60_000);

  it('merges Daisy packets: channels 9-16 from the even packet, 1-8 from the odd one, 125 Hz', async () => {
    const { chunks, source } = await rig(true);
    await until(() => total(chunks) >= 200, 30_000);
    expect(source.info.channels).toHaveLength(16);
    expect(source.info.sampleRate).toBe(125);
    for (const c of chunks) {
      for (let s = 0; s < c.samples; s++) {
        const k = c.firstSample + s;
        for (let ch = 0; ch < 16; ch++) expect(Math.abs(c.data[s * 16 + ch] - known(k, ch))).toBeLessThanOrEqual(LSB);
      }
    }
  }, 60_000);

  it('counts injected garbage bytes and dropped packets exactly, and leaves the hole in the sample index', async () => {
    const { chunks, sim, source } = await rig(false);
    await until(() => total(chunks) >= 100, 30_000);
    sim.injectGarbage(Buffer.from('line noise!\x00\x01\x02\xff', 'latin1'));
    await until(() => source.stats.garbageBytes > 0, 5000);
    sim.dropPackets(5);
    await until(() => source.stats.droppedPackets > 0, 5000);
    await until(() => total(chunks) >= 400, 30_000);
    expect(source.stats.garbageBytes).toBe(15);
    expect(source.stats.droppedPackets).toBe(5);
    expect(source.stats.droppedSamples).toBe(5);
    expect(source.stats.drops).toHaveLength(1);
    const hole = source.stats.drops[0];
    const after = chunks.findIndex((c) => c.firstSample === hole.atSample);
    expect(after).toBeGreaterThan(0);
    const before = chunks[after - 1];
    expect(hole.atSample - (before.firstSample + before.samples)).toBe(5);
    // the values after the hole are those of the samples that came next, not interpolated
    expect(Math.abs(chunks[after].data[0] - known(hole.atSample, 0))).toBeLessThanOrEqual(LSB);
  }, 60_000);

  it('survives the pty pair being killed and recreated mid-stream, and reports the gap', async () => {
    const { chunks, pty, sim, source } = await rig(false);
    await until(() => total(chunks) >= 100, 30_000);
    await sim.close();
    await pty.kill();
    await new Promise((r) => setTimeout(r, 600));
    const before = total(chunks);
    await pty.start();
    const sim2 = await CytonSimulator.open({ path: pty.board, daisy: false, signal: known });
    cleanup.push(() => sim2.close());
    await until(() => total(chunks) >= before + 200, 30_000);
    expect(source.stats.reconnects).toBeGreaterThanOrEqual(1);
    const gap = source.stats.drops.find((d) => d.reason === 'reconnect');
    expect(gap).toBeDefined();
    expect(gap!.samples).toBeGreaterThan(100); // at least the 0.6 s the port was gone, at 250 Hz
    const ts = chunks.flatMap((c) => Array.from(c.timestamps!));
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThan(ts[i - 1]);
  }, 60_000);
});

describe.skipIf(!socat)('Cyton from the command line and through the motor-imagery pipeline', () => {
  it('neurorx inspect serial:cyton:<pty> --seconds 3 --json reports channels, a live pace, drops and statistics', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const path = await import('node:path');
    const { PROJECT_ROOT } = await import('./helpers/data.js');
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const sim = await CytonSimulator.open({ path: pty.board, signal: known });
    cleanup.push(() => sim.close());
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'inspect', `serial:cyton:${pty.host}`, '--seconds', '3', '--json']);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as InspectReport;
    expect(report.stream).toMatchObject({ channelCount: 8, sampleRate: 250, type: 'EEG' });
    expect(report.samples).toBe(750);
    // Paced live, not read as fast as possible (the exact rate under a loaded machine is a timing figure).
    expect(report.measuredRate).toBeGreaterThan(125);
    expect(report.measuredRate).toBeLessThan(500);
    expect(report.dropped).toBe(0);
    expect(report.device).toMatchObject({ garbageBytes: 0, droppedPackets: 0, reconnects: 0 });
    expect(report.channels).toHaveLength(8);
    expect(report.channels[0].std).toBeGreaterThan(0);
  }, 60_000);

  it('runs the motor-imagery pipeline from the simulated board, decisions over WebSocket', async () => {
    const { parseConfig } = await import('../src/config/config-schema.js');
    const { startSession } = await import('../src/session/run-session.js');
    const { connect } = await import('./helpers/ws-client.js');
    const { syntheticSignal, CYTON_MOTOR_LABELS } = await import('../devices/serial/simulator-signal.js');
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const sim = await CytonSimulator.open({ path: pty.board, signal: syntheticSignal('synthetic:motor-imagery?seed=7', CYTON_MOTOR_LABELS, 250) });
    cleanup.push(() => sim.close());
    const session = await startSession(
      parseConfig({
        source: { uri: `serial:cyton:${pty.host}?labels=${CYTON_MOTOR_LABELS.join(',')}` },
        pipeline: {
          kind: 'motor-imagery',
          channels: CYTON_MOTOR_LABELS,
          bandpass: { low: 8, high: 30 },
          calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=1&trials=40&rate=250' },
        },
        server: { port: 0 },
      }),
    );
    cleanup.push(() => session.stop());
    const { ws, messages } = await connect(session.server.address.url);
    cleanup.push(() => ws.close());
    await until(() => messages.filter((m) => m.type === 'decision').length >= 4, 15_000);
    expect(messages[0]).toMatchObject({ type: 'hello', stream: { sampleRate: 250, channels: CYTON_MOTOR_LABELS } });
    for (const d of messages.filter((m) => m.type === 'decision')) expect(['left', 'right']).toContain(d.label);
  }, 30_000);
});

describe('the simulator signal from a recording', () => {
  it('plays an EDF recording at the board rate, resampled linearly and looped', async (ctx) => {
    const { dataFile } = await import('./helpers/data.js');
    const file = dataFile('eegmmidb/S001/S001R04.edf');
    if (!file) return ctx.skip();
    const { readEdf } = await import('../devices/file/edf-reader.js');
    const { recordedSignal } = await import('../devices/serial/simulator-signal.js');
    const rec = await readEdf(file);
    const signal = recordedSignal(rec, ['C3', 'C4'], 250);
    const c3 = rec.info.channels.findIndex((c) => c.label === 'C3..');
    const at = (s: number): number => rec.data[s * 64 + c3];
    expect(signal(0, 0)).toBe(at(0));
    expect(signal(25, 0)).toBeCloseTo(at(16), 4); // 25 / 250 s = 16 / 160 s
    expect(signal(1, 0)).toBeCloseTo(at(0) + (at(1) - at(0)) * 0.64, 4);
    const loopAt = Math.round((rec.samples * 250) / 160);
    expect(signal(loopAt, 0)).toBeCloseTo(at(0), 4);
  });
});
