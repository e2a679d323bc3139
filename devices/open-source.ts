import path from 'node:path';
import type { Observable } from 'rxjs';
import { AffectiveSimulator, generateAffectiveRecording, type AffectiveOptions } from './synthetic/affective.js';
import { MegImageSimulator } from './synthetic/meg-stream.js';
import { generateSsvep, type SsvepSimOptions } from './synthetic/ssvep.js';
import { LossLog } from '../src/stream/losses.js';
import type { Recording } from '../src/stream/recording.js';
import type { Chunk, Marker, StreamInfo } from '../src/stream/types.js';
import { readEdf } from './file/edf-reader.js';
import { cachedRecording } from './file/recording-cache.js';
import { readFif } from './file/fif-reader.js';
import { readMuseCsv } from './file/muse-csv.js';
import { readXdfRecording } from './file/xdf-recording.js';
import { DEFAULT_REPLAY, replayRecording, type ReplayOptions } from './file/replay.js';
import { openLslSource } from './lsl/lsl-source.js';
import { openNatsSource } from './nats/nats-source.js';
import { pacedChunks } from './paced-source.js';
import { openSerialSource } from './serial/serial-source.js';
import { booleanParam, numberParam, parseSourceUri, type SourceUri } from './source-uri.js';
import { DEFAULT_SAMPLE_RATE, DEFAULT_SUBJECT, generateMotorImagery, MotorImagerySimulator, type MotorImageryOptions } from './synthetic/motor-imagery.js';

/** An opened source: its stream description up front, then its chunks on subscription. */
export interface Source {
  readonly uri: string;
  readonly info: StreamInfo;
  /** True when the stream has an end (a file without loop, a finite synthetic recording). */
  readonly finite: boolean;
  /** Every subscription starts the stream from its beginning. */
  readonly chunks$: Observable<Chunk>;
  /** Device counters (packets, garbage bytes, drops, reconnects) when the source keeps them. */
  readonly stats?: () => Record<string, unknown>;
  /** Everything the source lost or could not read: gaps and reader warnings (see losses.ts). */
  readonly losses: LossLog;
}

/**
 * Opens a source URI (see source-uri.ts). `replay` gives defaults for the pace; the URI's own
 * speed/chunk/loop parameters win over them.
 */
export async function openSource(raw: string, replay: Partial<ReplayOptions> = {}): Promise<Source> {
  const uri = parseSourceUri(raw);
  if (uri.scheme === 'serial') {
    const serial = openSerialSource(uri, (m) => console.error(m));
    return { uri: raw, info: serial.info, finite: false, chunks$: serial.chunks$, stats: () => ({ ...serial.stats, drops: serial.stats.drops.slice(0, 100) }), losses: serial.losses };
  }
  if (uri.scheme === 'lsl') {
    const lsl = await openLslSource(uri);
    return { uri: raw, info: lsl.info, finite: false, chunks$: lsl.chunks$, losses: lsl.losses };
  }
  if (uri.scheme === 'nats') {
    const nats = await openNatsSource(uri);
    return { uri: raw, info: nats.info, finite: false, chunks$: nats.chunks$, stats: () => ({ ...nats.stats() }), losses: nats.losses };
  }
  const pace = paceOf(uri, replay);
  if (uri.scheme === 'synthetic' && uri.target === 'emotion' && !uri.params.has('clips')) {
    const opts = affectiveOptions(uri);
    return { uri: raw, finite: false, ...simulatedChunks(() => new AffectiveSimulator(opts), pace), losses: new LossLog() };
  }
  if (uri.scheme === 'synthetic' && uri.target === 'meg') {
    const opts = {
      seed: numberParam(uri, 'seed', 1),
      images: numberParam(uri, 'images', 240),
      channels: numberParam(uri, 'channels', 306),
      sampleRate: numberParam(uri, 'rate', 1000),
      subject: numberParam(uri, 'subject', 1),
      session: numberParam(uri, 'session', 1),
    };
    return { uri: raw, finite: false, ...simulatedChunks(() => new MegImageSimulator(opts), pace), losses: new LossLog() };
  }
  if (uri.scheme === 'synthetic' && uri.target !== 'emotion' && uri.target !== 'ssvep' && !uri.params.has('trials')) {
    const opts = syntheticOptions(uri);
    return { uri: raw, finite: false, ...simulatedChunks(() => new MotorImagerySimulator(opts), pace), losses: new LossLog() };
  }
  const rec = await loadRecording(uri);
  return { uri: raw, info: rec.info, finite: !pace.loop, chunks$: replayRecording(rec, pace), losses: recordingLosses(rec) };
}

/** A recording's reader warnings and missing stretches, as a source's loss log. */
export function recordingLosses(rec: Recording): LossLog {
  const losses = new LossLog();
  for (const w of rec.warnings ?? []) losses.warning(w);
  for (const g of rec.gaps ?? []) losses.gap(g);
  return losses;
}

/** A simulator's endless stream; a new subscription starts the (deterministic) stream again. */
function simulatedChunks(create: () => Simulator, pace: ReplayOptions): { info: StreamInfo; chunks$: Observable<Chunk> } {
  let sim = create();
  const info = sim.info;
  let next = 0;
  const chunks$ = pacedChunks(
    info,
    (first, max) => {
      if (first === 0 && next !== 0) sim = create();
      else if (first !== next) throw new Error('synthetic source: one subscription at a time');
      const { data, markers } = sim.next(max);
      next = first + max;
      return { data, samples: max, time: first / info.sampleRate, markers };
    },
    pace,
  );
  return { info, chunks$ };
}

interface Simulator {
  readonly info: StreamInfo;
  next(n: number): { data: Float32Array; markers: Marker[] };
}

/** Loads a whole recording: a file, or a finite synthetic session (`synthetic:...?trials=N`). */
export async function loadRecording(source: string | SourceUri): Promise<Recording> {
  const uri = typeof source === 'string' ? parseSourceUri(source) : source;
  switch (uri.scheme) {
    case 'file': {
      const ext = path.extname(uri.target).toLowerCase();
      if (ext === '.edf' || ext === '.bdf') return cachedRecording(uri.target, '', () => readEdf(uri.target));
      if (ext === '.fif') return cachedRecording(uri.target, '', () => readFif(uri.target));
      // a muse-lsl CSV run (Muse N170/P300/SSVEP recordings): markers are the column's codes as strings
      if (ext === '.csv') return cachedRecording(uri.target, '', () => readMuseCsv(uri.target));
      if (ext === '.xdf') {
        // stream: the signal stream's id, name or type (default: the first regular numeric stream, EEG/MEG first)
        const stream = uri.params.get('stream');
        return cachedRecording(uri.target, `stream=${stream ?? ''}`, () => readXdfRecording(uri.target, stream !== undefined ? { stream } : {}));
      }
      throw new Error(`source "${uri.raw}": unsupported file type "${ext || '(none)'}", expected .edf, .bdf, .fif, .xdf or .csv (muse-lsl)`);
    }
    case 'synthetic': {
      if (uri.target === 'emotion') {
        const clips = numberParam(uri, 'clips', 10);
        if (!Number.isInteger(clips) || clips < 1) throw new Error(`source "${uri.raw}": clips must be a positive integer`);
        return generateAffectiveRecording(affectiveOptions(uri), clips);
      }
      if (uri.target === 'ssvep') return generateSsvep(ssvepOptions(uri));
      const trials = numberParam(uri, 'trials', 40);
      if (!Number.isInteger(trials) || trials < 1) throw new Error(`source "${uri.raw}": trials must be a positive integer`);
      return generateMotorImagery({ ...syntheticOptions(uri), trialsPerClass: trials });
    }
    default:
      throw new Error(`source "${uri.raw}": the ${uri.scheme}: scheme is a live stream, not a recording`);
  }
}

/** `synthetic:ssvep?seed=1&trials=10&frequencies=20,30&amplitude=1.5`: always a finite recording (trials per target). */
function ssvepOptions(uri: SourceUri): SsvepSimOptions {
  const frequencies = uri.params.get('frequencies')?.split(',').map(Number);
  if (frequencies?.some((f) => !Number.isFinite(f))) throw new Error(`source "${uri.raw}": frequencies must be numbers in Hz, e.g. 20,30`);
  return {
    seed: numberParam(uri, 'seed', 42),
    trialsPerTarget: numberParam(uri, 'trials', 10),
    amplitude: numberParam(uri, 'amplitude', 1.5),
    ...(frequencies ? { frequencies } : {}),
  };
}

function affectiveOptions(uri: SourceUri): AffectiveOptions {
  return {
    seed: numberParam(uri, 'seed', 42),
    subject: numberParam(uri, 'subject', 1),
    baselineSeconds: numberParam(uri, 'baseline', 6),
    clipSeconds: numberParam(uri, 'clip', 30),
    leadInSeconds: numberParam(uri, 'leadIn', 25),
  };
}

function syntheticOptions(uri: SourceUri): MotorImageryOptions {
  if (uri.target !== 'motor-imagery') {
    throw new Error(`source "${uri.raw}": unknown generator "${uri.target}", expected synthetic:motor-imagery, synthetic:emotion, synthetic:meg or synthetic:ssvep`);
  }
  const classes = uri.params
    .get('classes')
    ?.split(',')
    .map((c) => c.trim());
  const allowed = ['left', 'right', 'feet'];
  const bad = classes?.filter((c) => !allowed.includes(c)) ?? [];
  if (bad.length > 0) throw new Error(`source "${uri.raw}": unknown class(es) ${bad.join(', ')}, expected ${allowed.join(', ')}`);
  return {
    seed: numberParam(uri, 'seed', 42),
    subject: numberParam(uri, 'subject', DEFAULT_SUBJECT),
    sampleRate: numberParam(uri, 'rate', DEFAULT_SAMPLE_RATE),
    ...(classes ? { classes: classes as MotorImageryOptions['classes'] } : {}),
  };
}

function paceOf(uri: SourceUri, defaults: Partial<ReplayOptions>): ReplayOptions {
  const base = { ...DEFAULT_REPLAY, ...defaults };
  const speedRaw = uri.params.get('speed');
  const speed = speedRaw === 'max' ? 'max' : numberParam(uri, 'speed', base.speed === 'max' ? Infinity : base.speed);
  return {
    speed: speed === Infinity ? 'max' : speed,
    chunkSize: numberParam(uri, 'chunk', base.chunkSize),
    loop: booleanParam(uri, 'loop', base.loop),
  };
}
