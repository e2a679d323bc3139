import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { AsciiDecoder, BinaryDecoder, binaryProtocolSchema, asciiProtocolSchema, encodeBinaryFrame } from '../devices/serial/generic-protocol.js';
import { loadGenericProtocol } from '../devices/serial/generic-source.js';
import { openSerialSource } from '../devices/serial/serial-source.js';
import { parseSourceUri } from '../devices/source-uri.js';
import type { Chunk } from '../src/stream/types.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';
import { until } from './helpers/ws-client.js';

const binary = binaryProtocolSchema.parse({
  format: 'binary',
  rate: 200,
  header: [0xaa, 0x55],
  counter: { bytes: 1 },
  sampleType: 'int16',
  endian: 'big',
  checksum: 'xor',
  channels: [
    { label: 'C3', scale: 0.5 },
    { label: 'C4', scale: 0.5 },
  ],
});
const ascii = asciiProtocolSchema.parse({
  format: 'ascii',
  rate: 100,
  separator: ';',
  channels: [
    { label: 'Cz', column: 1, scale: 2 },
    { label: 'Pz', column: 0 },
  ],
});

describe('generic serial protocols', () => {
  it('decodes binary frames, skipping garbage and frames whose checksum fails, byte by byte', () => {
    const frames = [encodeBinaryFrame(binary, [10, -20], 0), encodeBinaryFrame(binary, [30, -40], 1), encodeBinaryFrame(binary, [50, -60], 2)];
    const bad = Buffer.from(frames[1]);
    bad[5] ^= 0xff; // corrupt a data byte: checksum fails
    const stream = Buffer.concat([Buffer.from([1, 2, 3]), frames[0], bad, frames[2]]);
    const d = new BinaryDecoder(binary);
    const got: [number[], number | undefined][] = [];
    for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1), (v, c) => got.push([Array.from(v), c]));
    expect(got).toEqual([
      [[5, -10], 0],
      [[25, -30], 2],
    ]);
    expect(d.garbageBytes).toBe(3 + bad.length);
  });

  it('decodes ASCII lines by column with scale, counting unparsable lines as garbage', () => {
    const d = new AsciiDecoder(ascii);
    const got: number[][] = [];
    d.push(Buffer.from('# header\n1;2\r\n3;oops\n5;6\n7'), (v) => got.push(Array.from(v)));
    d.push(Buffer.from(';8\n'), (v) => got.push(Array.from(v)));
    expect(got).toEqual([
      [4, 1],
      [12, 5],
      [16, 7],
    ]);
    expect(d.garbageBytes).toBe('3;oops\n'.length);
  });

  it('names the field at fault in a bad device config', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-dev-'));
    const file = path.join(dir, 'dev.json');
    writeFileSync(file, JSON.stringify({ format: 'binary', rate: 250, header: [300], sampleType: 'int12', channels: [] }));
    expect(() => loadGenericProtocol(file)).toThrow(/header\.0: Too big: expected number to be <=255[\s\S]*sampleType: Invalid option[\s\S]*channels: Too small/);
  });
});

const socat = haveSocat();
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe.skipIf(!socat)('a generic binary device over a real pty pair', () => {
  it('streams frames through serial:generic:<config>, counting garbage and counter drops exactly', async () => {
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-dev-'));
    const config = path.join(dir, 'arduino.json');
    writeFileSync(config, JSON.stringify({ ...binary, name: 'arduino' }));
    const board = await new Promise<SerialPort>((resolve, reject) => {
      const p: SerialPort = new SerialPort({ path: pty.board, baudRate: 115200 }, (e) => (e ? reject(e) : resolve(p)));
    });
    cleanup.push(() => new Promise((r) => board.close(() => r(undefined))));
    const source = openSerialSource(parseSourceUri(`serial:generic:${config}?path=${pty.host}`));
    expect(source.info).toMatchObject({ name: 'arduino', sampleRate: 200 });
    const chunks: Chunk[] = [];
    const sub = source.chunks$.subscribe((c) => chunks.push(c));
    cleanup.push(() => sub.unsubscribe());
    await new Promise((r) => setTimeout(r, 300)); // let the port open
    const frames: Buffer[] = [];
    for (let k = 0; k < 300; k++) {
      if (k >= 100 && k < 104) continue; // four frames never sent
      frames.push(encodeBinaryFrame(binary, [k, -k], k & 0xff));
      if (k === 200) frames.push(Buffer.from('\x00junk\x00'));
    }
    for (let i = 0; i < frames.length; i += 20) {
      board.write(Buffer.concat(frames.slice(i, i + 20)));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => chunks.reduce((s, c) => s + c.samples, 0) >= 296, 5000);
    expect(source.stats).toMatchObject({ samples: 296, droppedPackets: 4, droppedSamples: 4, garbageBytes: 6 });
    const values = chunks.flatMap((c) => Array.from({ length: c.samples }, (_, s) => [c.firstSample + s, c.data[s * 2] / 0.5]));
    for (const [index, k] of values) expect(index).toBe(k); // the sample index skips exactly the lost frames
  }, 20_000);
});
