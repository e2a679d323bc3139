import { performance } from 'node:perf_hooks';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type NatsConnection, type Subscription as NatsSubscription } from 'nats';
import { Observable } from 'rxjs';
import { LossLog } from '../../src/stream/losses.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { numberParam, type SourceUri } from '../source-uri.js';
import { checkStreamName, dataSubject, EEG_STREAMS_BUCKET, natsServers, parseStreamRecord, type EegStreamRecord } from './eeg-bus-names.js';
import { decodeFrame, DEFAULT_MAX_FRAME_BYTES, type DecodedFrame } from './eeg-frame.js';
import { connectNats, watchConnection } from './nats-connection.js';

/**
 * `nats:` source URIs: an EEG stream another process publishes on NATS (nats-sink.ts).
 *   nats:<stream>?servers=nats://a:4222,nats://b:4222&from=new|start|<seq>&durable=<name>
 * servers: default $NEURORX_NATS, else nats://127.0.0.1:4222. timeout: seconds to wait for the
 * stream's description in the key-value bucket (default 10). from: `new` (default) takes frames
 * from now on; `start` replays all the JetStream stream retains; a number starts at that
 * JetStream stream sequence. durable=<name>: a durable JetStream consumer that acknowledges each
 * frame once the pipeline has taken it, so a decoder that restarts with the same name resumes
 * right after the last frame it processed. maxFrame: bytes (default 8 MiB). queue: frames pulled
 * ahead of the pipeline from JetStream (default 64); core NATS hands each frame to the pipeline as
 * it is read, with no queue.
 *
 * A stream JetStream does not retain is read from core NATS (from=new only). Every loss lands in
 * `losses`: a malformed frame (skipped, the stream goes on), a jump of the sequence number or of
 * firstSample (a gap with its sample count), the connection lost and back.
 */
export interface NatsSource {
  readonly info: StreamInfo;
  readonly record: EegStreamRecord;
  readonly chunks$: Observable<Chunk>;
  readonly losses: LossLog;
  stats(): NatsSourceStats;
}

export interface NatsSourceStats {
  frames: number;
  samples: number;
  malformed: number;
  duplicates: number;
  gaps: number;
}

const DESCRIPTION_POLL_MS = 200;
const DEFAULT_QUEUE_FRAMES = 64;

export async function openNatsSource(uri: SourceUri, losses = new LossLog()): Promise<NatsSource> {
  const label = `source "${uri.raw}"`;
  const fail = (why: string): never => {
    throw new Error(`${label}: ${why}`);
  };
  let stream = '';
  try {
    stream = checkStreamName(uri.target);
  } catch (e) {
    fail((e as Error).message);
  }
  const servers = natsServers(uri.params.get('servers'));
  const timeout = numberParam(uri, 'timeout', 10);
  const maxFrame = numberParam(uri, 'maxFrame', DEFAULT_MAX_FRAME_BYTES);
  const queue = numberParam(uri, 'queue', DEFAULT_QUEUE_FRAMES);
  if (!Number.isInteger(queue) || queue < 1 || queue > 10_000) fail(`queue=${queue}: expected 1 to 10000 frames`);
  const durable = uri.params.get('durable');
  if (durable !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(durable)) fail(`durable="${durable}": use 1 to 64 letters, digits, "-" or "_"`);
  const fromRaw = uri.params.get('from') ?? 'new';
  const from = fromRaw === 'new' || fromRaw === 'start' ? fromRaw : Number(fromRaw);
  if (typeof from === 'number' && !(Number.isInteger(from) && from >= 1)) fail(`from="${fromRaw}": expected new, start or a JetStream sequence number >= 1`);

  const record = await readDescription(servers, stream, timeout, label);
  if (!record.retained && (from !== 'new' || durable !== undefined)) {
    fail(`stream "${stream}" is not retained in JetStream (publish it with --jetstream): only from=new, without durable, can read it`);
  }
  const info = record.info;
  const subject = dataSubject(stream);
  const counts: NatsSourceStats = { frames: 0, samples: 0, malformed: 0, duplicates: 0, gaps: 0 };

  const chunks$ = new Observable<Chunk>((subscriber) => {
    let closed = false;
    let nc: NatsConnection | undefined;
    let sub: NatsSubscription | undefined;
    let messages: ConsumerMessages | undefined;
    const continuity = new FrameContinuity(info, losses, label, counts);
    const deliver = (bytes: Uint8Array): void => {
      let frame: DecodedFrame;
      try {
        frame = decodeFrame(bytes, info, maxFrame);
      } catch (e) {
        counts.malformed++;
        losses.warning(`${label}: ${(e as Error).message}; frame skipped`);
        return;
      }
      const chunk = continuity.accept(frame);
      if (chunk) subscriber.next(chunk);
    };
    void (async () => {
      nc = await connectNats(servers, label);
      if (closed) return void nc.close();
      watchConnection(nc, (up, server) => losses.warning(up ? `${label}: reconnected to NATS ${server}` : `${label}: connection to NATS ${server} lost; reconnecting`));
      if (!record.retained) {
        sub = nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) losses.warning(`${label}: ${err.message}`);
            else deliver(msg.data);
          },
        });
        return;
      }
      const js = nc.jetstream();
      const policy =
        from === 'new' ? { deliver_policy: DeliverPolicy.New } : from === 'start' ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from };
      let consumer;
      if (durable !== undefined) {
        const jsm = await nc.jetstreamManager();
        const existing = await jsm.consumers.info(record.retained, durable).catch(() => undefined);
        if (existing && existing.config.filter_subject !== subject) {
          throw new Error(`durable consumer "${durable}" reads ${existing.config.filter_subject ?? 'every subject'}, not ${subject}`);
        }
        if (!existing) await jsm.consumers.add(record.retained, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: subject, max_ack_pending: queue * 4, ...policy });
        consumer = await js.consumers.get(record.retained, durable);
      } else {
        // One subject, sent as filter_subject: nats-server 2.9 (Debian 12) knows no filter_subjects.
        // nats.js's ordered consumer always sends a start sequence, which the server refuses with "all".
        const ordered = from === 'start' ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 } : policy;
        consumer = await js.consumers.get(record.retained, { filterSubjects: subject, ...ordered });
      }
      if (closed) return;
      messages = await consumer.consume({
        max_messages: queue,
        expires: 5000,
        callback: (m) => {
          deliver(m.data);
          // Acknowledged once the pipeline has taken the chunk: a restarted decoder resumes after it.
          if (durable !== undefined) m.ack();
        },
      });
    })().catch((e: Error) => {
      if (!closed) subscriber.error(new Error(`${label}: ${e.message}`));
    });
    return () => {
      closed = true;
      messages?.stop();
      sub?.unsubscribe();
      void nc?.close();
    };
  });
  return { info, record, chunks$, losses, stats: () => ({ ...counts }) };
}

/** The stream's description from the key-value bucket, waiting up to `timeout` seconds for it. */
async function readDescription(servers: readonly string[], stream: string, timeout: number, label: string): Promise<EegStreamRecord> {
  const nc = await connectNats(servers, label);
  try {
    const kv = await nc.jetstream().views.kv(EEG_STREAMS_BUCKET, { history: 1 });
    const deadline = performance.now() + timeout * 1000;
    for (;;) {
      const entry = await kv.get(stream);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) return parseStreamRecord(stream, entry.value);
      if (performance.now() >= deadline) {
        throw new Error(`${label}: no EEG stream "${stream}" described in the NATS bucket ${EEG_STREAMS_BUCKET} after ${timeout} s (is "neurorx bus send ... --stream ${stream}" running?)`);
      }
      await new Promise((r) => setTimeout(r, DESCRIPTION_POLL_MS));
    }
  } finally {
    await nc.close();
  }
}

/**
 * Follows the sequence numbers and firstSample of the frames: a jump is a gap (with its sample
 * count), a frame seen already is skipped, a publisher that started over (sequence 0 again) is
 * reported and its samples are numbered on from where the stream was.
 */
class FrameContinuity {
  private lastSeq = -1;
  private nextSample = -1;
  private offset = 0;
  private endTime = 0;

  constructor(
    private readonly info: StreamInfo,
    private readonly losses: LossLog,
    private readonly label: string,
    private readonly counts: NatsSourceStats,
  ) {}

  accept(f: DecodedFrame): Chunk | undefined {
    if (this.lastSeq >= 0 && f.seq <= this.lastSeq) {
      if (f.seq !== 0) {
        this.counts.duplicates++;
        this.losses.warning(`${this.label}: frame ${f.seq} came again after frame ${this.lastSeq}; skipped`);
        return undefined;
      }
      this.losses.warning(`${this.label}: the publisher started over (frame 0 after frame ${this.lastSeq}); its samples are numbered on from ${this.nextSample}`);
      this.offset = this.nextSample - f.firstSample;
      this.lastSeq = -1;
    }
    const firstSample = f.firstSample + this.offset;
    if (this.nextSample >= 0 && firstSample < this.nextSample) {
      this.counts.duplicates++;
      this.losses.warning(`${this.label}: frame ${f.seq} starts at sample ${firstSample}, before the end of the previous frame (${this.nextSample}); skipped`);
      return undefined;
    }
    if (this.nextSample >= 0 && firstSample > this.nextSample) {
      const samples = firstSample - this.nextSample;
      const missingFrames = this.lastSeq >= 0 ? f.seq - this.lastSeq - 1 : 0;
      const rate = this.info.sampleRate;
      this.counts.gaps++;
      this.losses.gap({
        time: this.endTime,
        samples,
        seconds: rate > 0 ? samples / rate : Math.max(0, f.time - this.endTime),
        cause: missingFrames > 0 ? `${missingFrames} frame(s) missing on the bus (frames ${this.lastSeq + 1} to ${f.seq - 1})` : 'lost by the publisher or its source',
      });
    }
    this.lastSeq = f.seq;
    this.nextSample = firstSample + f.samples;
    const period = this.info.sampleRate > 0 ? 1 / this.info.sampleRate : 0;
    this.endTime = f.timestamps ? f.timestamps[f.samples - 1] + period : f.time + f.samples * period;
    this.counts.frames++;
    this.counts.samples += f.samples;
    return {
      info: this.info,
      data: f.data,
      samples: f.samples,
      firstSample,
      time: f.time,
      ...(f.timestamps ? { timestamps: f.timestamps } : {}),
      markers: f.markers,
      receivedAt: performance.now(),
    };
  }
}
