import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDataDir, eegmmidbEvents, eegmmidbFile } from '../devices/datasets/eegmmidb.js';
import { writeEdf } from '../devices/file/edf-writer.js';
import { generateMotorImagery } from '../devices/synthetic/motor-imagery.js';
import { parseConfig, type Config } from '../src/config/config-schema.js';
import { SessionHost } from '../src/host/session-host.js';
import type { Recording } from '../src/stream/recording.js';

/** The recording bench:scale replays, and the models its sessions decode with. */

export const CHANNELS = 64;
export const RATE = 160;
export const CHUNK = 16;
/** Decision hop of the sessions, seconds (the online window slides by it). */
export const HOP = 0.25;
export const KINDS = ['csp-lda', 'tangent-space-lr'] as const;
export type DecoderKind = (typeof KINDS)[number];

export interface BenchRecording {
  readonly file: string;
  /** Cue marker -> class. */
  readonly events: Record<string, string>;
  /** What it is: EEGMMIDB S001R04, or a synthetic stand-in. */
  readonly what: string;
}

/**
 * EEGMMIDB S001R04 (64 channels, 160 Hz, imagined left/right fist) from $NEURORX_DATA; when it is
 * absent, a finite synthetic motor-imagery recording widened to 64 channels, written once to an
 * EDF in `tmp` (a file, so the sessions replay it exactly as they would the real one).
 */
export async function benchRecording(tmp: string): Promise<BenchRecording> {
  const real = eegmmidbFile(defaultDataDir(), 1, 4);
  if (existsSync(real)) return { file: real, events: eegmmidbEvents(4), what: 'EEGMMIDB S001R04' };
  const file = path.join(tmp, 'synthetic-64ch.edf');
  await writeEdf(file, widened(generateMotorImagery({ seed: 7, sampleRate: RATE, trialsPerClass: 20 }), CHANNELS));
  return { file, events: { left: 'left', right: 'right' }, what: `synthetic motor imagery (${CHANNELS} channels, ${RATE} Hz; EEGMMIDB not found under ${defaultDataDir()})` };
}

/** `rec` with `n` channels: the originals repeated, each copy with its own small deterministic noise (no two alike: covariances stay full rank). */
function widened(rec: Recording, n: number): Recording {
  const src = rec.info.channels.length;
  const data = new Float32Array(rec.samples * n);
  let state = 12345;
  const noise = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  for (let s = 0; s < rec.samples; s++) for (let c = 0; c < n; c++) data[s * n + c] = rec.data[s * src + (c % src)] + noise();
  const channels = Array.from({ length: n }, (_, c) => ({ ...rec.info.channels[c % src], label: c < src ? rec.info.channels[c].label : `X${c}` }));
  return { ...rec, info: { ...rec.info, channels }, data };
}

/** A session config decoding `rec` with `kind`; `calibration` from a saved model, or from the recording (writing the model to `saveModel`). */
export function sessionConfig(id: string, sourceUri: string, rec: BenchRecording, kind: DecoderKind, model: { path: string } | { saveModel: string }, extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    name: id,
    source: { uri: sourceUri, replay: { speed: 1, chunkSize: CHUNK, loop: true } },
    pipeline: {
      kind: 'motor-imagery',
      events: rec.events,
      bandpass: { low: 8, high: 30, order: 4 },
      epoch: { tmin: 0.5, tmax: 2.5 },
      window: { length: 2, hop: HOP },
      decoder: { kind },
      ...('path' in model ? { calibration: { from: 'model', path: model.path } } : { calibration: { from: 'recording', source: `file:${rec.file}` }, saveModel: model.saveModel }),
    },
    ...extra,
  });
}

/** Trains `kind` on the recording once (in a session thread, as a user's calibration would) and returns the saved model's path. */
export async function trainModel(rec: BenchRecording, kind: DecoderKind, tmp: string, log: (line: string) => void): Promise<string> {
  const file = path.join(tmp, `${kind}.model.json`);
  // (a generous stall timeout: calibrating on a busy core must not count as a stalled thread)
  const host = new SessionHost({ maxHeapMb: 0, stallTimeoutMs: 60_000, log: (line) => log(`  calibration: ${line}`) });
  try {
    await host.create(`train-${kind}`, sessionConfig(`train-${kind}`, `file:${rec.file}?loop=true&chunk=${CHUNK}`, rec, kind, { saveModel: file }));
    const t0 = Date.now();
    while (!complete(file)) {
      if (Date.now() - t0 > 300_000) throw new Error(`${kind}: no model after 300 s of calibration`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await host.close();
  }
  return file;
}

/** The model file is there and whole. */
function complete(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, 'utf8'));
    return true;
  } catch {
    return false;
  }
}
