import { performance } from 'node:perf_hooks';
import type { Subscriber } from 'rxjs';
import { Dejitter } from '../../src/dsp/dejitter.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { localClock } from '../lsl/lsl-clock.js';

/** What a serial reader saw: every drop and gap is counted and placed, never interpolated. */
export interface SerialStats {
  packets: number;
  samples: number;
  garbageBytes: number;
  droppedPackets: number;
  droppedSamples: number;
  /** Where samples went missing: the index of the first sample after the hole, and how many. */
  drops: { atSample: number; samples: number; reason: 'counter' | 'reconnect' }[];
  reconnects: number;
}

export function newSerialStats(): SerialStats {
  return { packets: 0, samples: 0, garbageBytes: 0, droppedPackets: 0, droppedSamples: 0, drops: [], reconnects: 0 };
}

/**
 * Turns decoded samples into chunks: one chunk per batch of bytes from the port, sample indices
 * that jump over lost samples, and host-clock timestamps (arrival time, spread back at the nominal
 * rate) smoothed by a regression against the sample index, so windows see a steady clock.
 */
export class SampleAssembler {
  private readonly out: Float32Array;
  private n = 0;
  private first = 0;
  private next = 0;
  private lastTime = -1;
  private gapPending = false;
  private readonly dejitter: Dejitter;
  private readonly nch: number;

  constructor(
    private readonly info: StreamInfo,
    private readonly stats: SerialStats,
    private readonly subscriber: Subscriber<Chunk>,
    maxBatch = 4096,
  ) {
    this.nch = info.channels.length;
    this.out = new Float32Array(maxBatch * this.nch);
    this.dejitter = new Dejitter(info.sampleRate, 10);
  }

  /** Adds one sample (`nch` values, already in the channels' units). */
  push(values: ArrayLike<number>, at = localClock()): void {
    if (this.gapPending) {
      // how long the port was gone tells how many samples are missing
      this.gapPending = false;
      if (this.lastTime >= 0) this.lost(Math.max(0, Math.round((at - this.lastTime) * this.info.sampleRate) - 1), 'reconnect', at);
    }
    if (this.n === 0) this.first = this.next;
    if ((this.n + 1) * this.nch > this.out.length) this.flush(at);
    const o = this.n * this.nch;
    for (let c = 0; c < this.nch; c++) this.out[o + c] = values[c];
    this.n++;
    this.next++;
  }

  /** `samples` samples never arrived: the next sample index moves past them. */
  lost(samples: number, reason: 'counter' | 'reconnect', at = localClock()): void {
    if (samples <= 0) return;
    this.flush(at);
    this.stats.droppedSamples += samples;
    this.stats.drops.push({ atSample: this.next + samples, samples, reason });
    this.next += samples;
  }

  /** The port came back: counted, and the first sample after it measures the gap. */
  reconnected(): void {
    this.stats.reconnects++;
    this.gapPending = true;
  }

  /** Emits the samples gathered since the last flush as one chunk. */
  flush(at = localClock()): void {
    const n = this.n;
    if (n === 0) return;
    const rate = this.info.sampleRate;
    const timestamps = new Float64Array(n);
    for (let i = 0; i < n; i++) timestamps[i] = at - (n - 1 - i) / rate;
    this.dejitter.apply(timestamps, this.first);
    this.lastTime = timestamps[n - 1];
    this.stats.samples += n;
    this.n = 0;
    this.subscriber.next({
      info: this.info,
      data: this.out.slice(0, n * this.nch),
      samples: n,
      firstSample: this.first,
      time: timestamps[0],
      timestamps,
      markers: [],
      receivedAt: performance.now(),
    });
  }
}
