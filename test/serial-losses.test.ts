import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { microvoltsPerCount } from '../devices/serial/cyton-protocol.js';
import { CytonSimulator, type SignalFn } from '../devices/serial/cyton-simulator.js';
import { openCytonSource, type CytonSource } from '../devices/serial/cyton-source.js';
import { AsciiDecoder, asciiProtocolSchema, MAX_LINE } from '../devices/serial/generic-protocol.js';
import { PacketCounter } from '../devices/serial/packet-counter.js';
import { openSerialSource } from '../devices/serial/serial-source.js';
import { parseSourceUri } from '../devices/source-uri.js';
import type { Observable } from 'rxjs';
import type { Loss, LossLog } from '../src/stream/losses.js';
import type { Chunk } from '../src/stream/types.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';
import { until } from './helpers/ws-client.js';

const LSB = microvoltsPerCount(24);
const counts = (k: number, c: number): number => ((k * 7919 + c * 104729) % 16_000_001) - 8_000_000;
const known: SignalFn = (k, c) => counts(k, c) * LSB;
const total = (chunks: Chunk[]): number => chunks.reduce((s, c) => s + c.samples, 0);

describe('the packet counter', () => {
  it('takes a repeated counter for a duplicate, not 255 lost packets, and wraps 255 -> 0', () => {
    const c = new PacketCounter(256);
    const verdicts = [250, 251, 251, 252, 255, 0, 0, 1].map((k) => c.next(k));
    expect(verdicts).toEqual([
      { kind: 'next', lost: 0 },
      { kind: 'next', lost: 0 },
      { kind: 'duplicate' },
      { kind: 'next', lost: 0 },
      { kind: 'next', lost: 2 },
      { kind: 'next', lost: 0 },
      { kind: 'duplicate' },
      { kind: 'next', lost: 0 },
    ]);
  });

  it('drops a packet a little behind the previous one (a repeated block) and counts a real jump as lost', () => {
    const c = new PacketCounter(256);
    // a Daisy pair sent twice: 10 11 10 11, then 12; later 5 packets lost
    expect([10, 11, 10, 11, 12, 18].map((k) => c.next(k))).toEqual([
      { kind: 'next', lost: 0 },
      { kind: 'next', lost: 0 },
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'next', lost: 0 },
      { kind: 'next', lost: 5 },
    ]);
    expect(c.next(3)).toEqual({ kind: 'next', lost: 240 }); // 15 behind: beyond the stale window, a wrap
  });

  it('unwraps the counter after a silence with the time the device was silent', () => {
    const c = new PacketCounter(256);
    c.next(100);
    // 1000 packets lost (4 s at 250 Hz): the counter says 1000 mod 256 = 232, the time about 1000
    expect(c.next((100 + 1001) % 256, 1003)).toEqual({ kind: 'next', lost: 1000 });
    c.next(50);
    expect(c.next(52, 520)).toEqual({ kind: 'next', lost: 513 }); // two full turns and one
    // The very next counter after a "silence" is packets held up and arriving late (a busy host,
    // seen in the stress run as 256 samples invented), not a whole turn lost.
    expect(c.next(53, 275)).toEqual({ kind: 'next', lost: 0 });
    expect(() => c.next(256)).toThrow('packet counter 256 is outside 0..255');
  });
});

describe('ASCII lines', () => {
  const ascii = asciiProtocolSchema.parse({ format: 'ascii', rate: 100, channels: [{ label: 'Cz', column: 0 }] });
  it('regression (fuzz): a line too long is garbage however the bytes were split', () => {
    const long = `1${' '.repeat(MAX_LINE)}\n2\n`; // Number('1   ...') would parse
    const run = (pieces: string[]): { got: number[]; garbage: number } => {
      const d = new AsciiDecoder(ascii);
      const got: number[] = [];
      for (const p of pieces) d.push(Buffer.from(p, 'latin1'), (v) => got.push(v[0]));
      return { got, garbage: d.garbageBytes };
    };
    const whole = run([long]);
    expect(whole).toEqual({ got: [2], garbage: MAX_LINE + 2 });
    expect(run([long.slice(0, MAX_LINE + 1), long.slice(MAX_LINE + 1)])).toEqual(whole);
    expect(run([long.slice(0, 10), long.slice(10)])).toEqual(whole);
  });
});

const socat = haveSocat();
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Collects a source's chunks and its losses as they come, until the test ends. */
function listen(source: { chunks$: Observable<Chunk>; losses: LossLog }): { chunks: Chunk[]; losses: Loss[] } {
  const losses: Loss[] = [];
  const feed = source.losses.losses$.subscribe((l) => losses.push(l));
  cleanup.push(() => feed.unsubscribe());
  const chunks: Chunk[] = [];
  const sub = source.chunks$.subscribe((c) => chunks.push(c));
  cleanup.push(() => sub.unsubscribe());
  return { chunks, losses };
}

async function rig(daisy: boolean): Promise<{ sim: CytonSimulator; source: CytonSource; chunks: Chunk[]; losses: Loss[] }> {
  const pty = await new PtyPair().start();
  cleanup.push(() => pty.kill());
  const sim = await CytonSimulator.open({ path: pty.board, daisy, signal: known });
  cleanup.push(() => sim.close());
  const source = openCytonSource({ path: pty.host, daisy });
  const { chunks, losses } = listen(source);
  return { sim, source, chunks, losses };
}

/** Every sample carries the known values of its index: nothing shifted, nothing interpolated. */
function misplaced(chunks: Chunk[], channels: number): number {
  let bad = 0;
  for (const c of chunks) {
    for (let s = 0; s < c.samples; s++) {
      for (let ch = 0; ch < channels; ch++) if (Math.abs(c.data[s * channels + ch] - known(c.firstSample + s, ch)) > LSB) bad++;
    }
  }
  return bad;
}

const gaps = (losses: Loss[]): Extract<Loss, { kind: 'gap' }>[] => losses.filter((l): l is Extract<Loss, { kind: 'gap' }> => l.kind === 'gap');

describe.skipIf(!socat)('Cyton losses over a real pty pair', () => {
  it('regression: five repeated packets are 5 duplicates and 45 lost packets 45 (were 1,320 dropped)', async () => {
    const { chunks, sim, source, losses } = await rig(false);
    await until(() => total(chunks) >= 100, 20_000);
    for (let k = 0; k < 5; k++) {
      const before = sim.packetsSent;
      await until(() => sim.packetsSent > before, 20_000);
      sim.repeatLast(1);
    }
    sim.dropPackets(45);
    await until(() => source.stats.duplicates === 5 && source.stats.droppedPackets > 0, 20_000);
    await until(() => total(chunks) >= 400, 20_000);
    expect(source.stats).toMatchObject({ duplicates: 5, droppedPackets: 45, droppedSamples: 45 });
    expect(gaps(losses).map((g) => [g.samples, g.cause])).toEqual([[45, 'serial packets lost']]);
    expect(gaps(losses)[0].seconds).toBeCloseTo(45 / 250, 9);
    const jumps = chunks.slice(1).reduce((s, c, i) => s + (c.firstSample - chunks[i].firstSample - chunks[i].samples), 0);
    expect(jumps).toBe(45);
    expect(misplaced(chunks, 8)).toBe(0);
  }, 90_000);

  it('Daisy: a pair sent twice is two duplicates; a lost even half costs exactly its sample', async () => {
    const { chunks, sim, source, losses } = await rig(true);
    await until(() => total(chunks) >= 50, 20_000);
    const before = sim.packetsSent;
    await until(() => sim.packetsSent > before + 2, 20_000);
    sim.repeatLast(2);
    await until(() => source.stats.duplicates >= 2, 20_000);
    sim.dropPackets(1, 'even');
    await until(() => source.stats.droppedPackets > 0, 20_000);
    await until(() => total(chunks) >= 150, 20_000);
    expect(source.stats).toMatchObject({ droppedPackets: 1, droppedSamples: 1 });
    // the repeated pair: whether it reads as (behind, duplicate) or (duplicate, behind) depends on where the block started
    expect(source.stats.duplicates).toBe(2);
    expect(gaps(losses).map((g) => g.samples)).toEqual([1]);
    expect(misplaced(chunks, 16)).toBe(0);
  }, 90_000);

  it('reports a board that goes silent, then the samples missed when it comes back', async () => {
    const { chunks, sim, source, losses } = await rig(false);
    await until(() => total(chunks) >= 100, 20_000);
    sim.dropPackets(600); // 2.4 s of nothing: the board runs on, its packets never arrive
    const silent = new RegExp(`^serial ${source.info.sourceId.split(':').pop()}: device silent since t=\\d+\\.\\d\\d s \\(no samples for \\d\\.\\d s\\)$`);
    await until(() => losses.some((l) => l.kind === 'warning' && silent.test(l.message)), 20_000);
    await until(() => gaps(losses).length > 0, 20_000);
    await until(() => total(chunks) >= 800, 20_000);
    const [gap] = gaps(losses);
    expect(gap.samples).toBe(600); // the counter, unwrapped by the time it was silent
    expect(gap.cause).toMatch(/^device silent \(no samples for \d+\.\d\d s\)$/);
    expect(source.stats).toMatchObject({ droppedPackets: 600, droppedSamples: 600, duplicates: 0 });
    expect(misplaced(chunks, 8)).toBe(0);
    const before = chunks.find((c) => c.firstSample + c.samples + 600 === chunks[chunks.indexOf(c) + 1]?.firstSample);
    expect(before).toBeDefined();
    expect(gap.time).toBeCloseTo(before!.timestamps![before!.samples - 1] + 1 / 250, 9);
  }, 90_000);
});

describe.skipIf(!socat)('generic devices going quiet', () => {
  it('an ASCII device without a counter: silence reported, the gap estimated from the time and skipped in the index', async () => {
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-dev-'));
    const config = path.join(dir, 'ascii.json');
    writeFileSync(config, JSON.stringify({ format: 'ascii', rate: 100, channels: [{ label: 'Cz', column: 0 }] }));
    const board = await new Promise<SerialPort>((resolve, reject) => {
      const p: SerialPort = new SerialPort({ path: pty.board, baudRate: 115200 }, (e) => (e ? reject(e) : resolve(p)));
    });
    cleanup.push(() => new Promise((r) => board.close(() => r(undefined))));
    const source = openSerialSource(parseSourceUri(`serial:generic:${config}?path=${pty.host}`));
    const { chunks, losses } = listen(source);
    let k = 0;
    const send = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 10, k += 10) {
        board.write(Array.from({ length: 10 }, (_, j) => `${k + j}\n`).join(''));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await new Promise((r) => setTimeout(r, 300)); // let the port open
    await send(50);
    // (the device was silent before its first line too if the machine is slow: that is no gap)
    await until(() => losses.some((l) => l.kind === 'warning' && /device silent since t=0\.50 s/.test(l.message)), 20_000);
    await send(50);
    await until(() => total(chunks) >= 100, 20_000);
    const found = gaps(losses);
    expect(found.length).toBeGreaterThan(0);
    for (const g of found) expect(g.cause).toMatch(/^device silent \(no samples for \d+\.\d\d s\)$/);
    const values = chunks.flatMap((c) => Array.from({ length: c.samples }, (_, s) => [c.firstSample + s, c.data[s]]));
    const resumeAt = values.findIndex(([, v]) => v === 50);
    expect(values[resumeAt][0] - values[resumeAt - 1][0]).toBeGreaterThan(1); // the silence is a hole in the index
    const holes = values.slice(1).reduce((n, [k], i) => n + (k - values[i][0] - 1), 0);
    expect(holes).toBe(found.reduce((n, g) => n + g.samples, 0));
    expect(source.stats.droppedSamples).toBe(holes);
  }, 90_000);
});
