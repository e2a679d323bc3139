import { z } from 'zod';
import type { StreamInfo } from '../../src/stream/types.js';

/**
 * Where an EEG stream lives on NATS:
 * - its frames (eeg-frame.ts) on the subject `neurorx.eeg.<stream>.data`;
 * - its description (StreamInfo, and whether JetStream retains the frames) as JSON in the
 *   JetStream key-value bucket `neurorx_eeg_streams`, key `<stream>`, so a consumer opens the
 *   stream before any data flows;
 * - when retained, the frames in the JetStream stream `NEURORX_EEG` (subjects `neurorx.eeg.>`).
 */
export const EEG_SUBJECT_PREFIX = 'neurorx.eeg';
export const EEG_STREAMS_BUCKET = 'neurorx_eeg_streams';
export const EEG_JETSTREAM = 'NEURORX_EEG';
export const DEFAULT_NATS_SERVER = 'nats://127.0.0.1:4222';

/** One subject token that is also a key-value key: letters, digits, "-" and "_". */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws a clear error when `name` cannot name a stream on the bus. */
export function checkStreamName(name: string): string {
  if (!STREAM_NAME.test(name)) {
    throw new Error(`EEG stream name "${name}": use 1 to 64 letters, digits, "-" or "_" (one NATS subject token: no ".", "*", ">" or spaces)`);
  }
  return name;
}

export function dataSubject(stream: string): string {
  return `${EEG_SUBJECT_PREFIX}.${checkStreamName(stream)}.data`;
}

/** Server URLs from a comma-separated list, else $NEURORX_NATS, else the local default. */
export function natsServers(list?: string): string[] {
  const raw = list ?? process.env.NEURORX_NATS ?? DEFAULT_NATS_SERVER;
  const servers = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new Error(`NATS servers "${raw}": no server URL`);
  return servers;
}

/** What the key-value bucket holds for a stream. */
export interface EegStreamRecord {
  readonly info: StreamInfo;
  /** The JetStream stream retaining the frames, or null (core NATS only). */
  readonly retained: string | null;
  readonly frameVersion: number;
}

const recordSchema = z.object({
  info: z.object({
    name: z.string(),
    type: z.string(),
    sourceId: z.string(),
    channels: z
      .array(z.object({ label: z.string(), type: z.enum(['eeg', 'meg', 'mag', 'grad', 'eog', 'emg', 'ecg', 'stim', 'resp', 'misc']), unit: z.string() }))
      .min(1)
      .max(65_536),
    sampleRate: z.number().finite().nonnegative(),
  }),
  retained: z.string().nullable(),
  frameVersion: z.number().int(),
});

/** Parses a bucket entry; throws naming the stream and the field at fault. */
export function parseStreamRecord(stream: string, bytes: Uint8Array): EegStreamRecord {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`EEG stream "${stream}": its description in ${EEG_STREAMS_BUCKET} is not JSON (${(e as Error).message})`);
  }
  const r = recordSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`EEG stream "${stream}": its description in ${EEG_STREAMS_BUCKET} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}
