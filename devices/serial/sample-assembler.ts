import { performance } from 'node:perf_hooks';
import type { Subscriber } from 'rxjs';
import { Dejitter } from '../../src/dsp/dejitter.js';
import type { LossLog } from '../../src/stream/losses.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { everyLiveTick } from '../lsl/live-ticks.js';
import { localClock } from '../lsl/lsl-clock.js';

export type DropReason = 'counter' | 'reconnect' | 'silence';

/** What a serial reader saw: every drop and gap is counted and placed, never interpolated. */
export interface SerialStats {
  packets: number;
  samples: number;
  garbageBytes: number;
  droppedPackets: number;
  droppedSamples: number;
  /** Packets dropped because they repeated an earlier one (same counter, or a little behind it). */
  duplicates: number;
  /** Where samples went missing: the index of the first sample after the hole, and how many (the first MAX_DROPS_KEPT). */
  drops: { atSample: number; samples: number; reason: DropReason }[];
  reconnects: number;
}

/** Seconds between two timestamps at least (they strictly increase). */
const MIN_STEP = 1e-6;

/** Holes listed in `SerialStats.drops` at most; the counters and the loss log count every one. */
export const MAX_DROPS_KEPT = 100;

export function newSerialStats(): SerialStats {
  return { packets: 0, samples: 0, garbageBytes: 0, droppedPackets: 0, droppedSamples: 0, duplicates: 0, drops: [], reconnects: 0 };
}

const CAUSES: Record<DropReason, string> = {
  counter: 'serial packets lost',
  reconnect: 'serial port closed and reopened',
  silence: 'device silent',
};

/**
 * Turns decoded samples into chunks: one chunk per batch of bytes from the port, sample indices
 * that jump over lost samples, and host-clock timestamps (arrival time, spread back at the nominal
 * rate) smoothed by a regression against the sample index, so windows see a steady clock; they
 * strictly increase.
 * It reports every hole to the loss log, and a device that goes quiet: a warning when no sample
 * came for `silenceSeconds` (default max(1 s, 10 sample periods)), and the gap (or "none
 * missing") when samples come again. A device with a packet counter measures that gap itself
 * (`takeSilence`, then `lost`); without one it is estimated from the time.
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
  private readonly silenceSeconds: number;
  /** Whether the device numbers its packets (then the source reports its losses through `lost`). */
  private readonly counted: boolean;
  /** Local clock when the last sample arrived (or streaming began); undefined while not streaming. */
  private lastArrival: number | undefined;
  /** When the last sample before a reported silence arrived; undefined when samples flow. */
  private silentAt: number | undefined;
  /** Whether the counter of the first packet after the silence has taken its length. */
  private measured = false;
  private garbageAtLastSample = 0;
  private stopWatch: () => void = () => {};

  constructor(
    private readonly info: StreamInfo,
    private readonly stats: SerialStats,
    private readonly subscriber: Subscriber<Chunk>,
    private readonly losses: LossLog,
    /** The device in messages, e.g. "serial /dev/ttyUSB0". */
    private readonly where: string,
    opts: { maxBatch?: number; counted?: boolean; silenceSeconds?: number } = {},
  ) {
    this.nch = info.channels.length;
    this.out = new Float32Array((opts.maxBatch ?? 4096) * this.nch);
    this.dejitter = new Dejitter(info.sampleRate, 10);
    this.counted = opts.counted ?? false;
    this.silenceSeconds = opts.silenceSeconds ?? Math.max(1, 10 / info.sampleRate);
  }

  /** The device streams from now on: silence is watched. */
  streaming(at = localClock()): void {
    this.lastArrival = at;
    this.stopWatch();
    this.stopWatch = everyLiveTick(250, (now) => this.checkSilence(now));
  }

  /** Stops watching (unsubscribed). */
  close(): void {
    this.stopWatch();
  }

  /** Whether a silence was reported and no sample has come since. */
  get silent(): boolean {
    return this.silentAt !== undefined;
  }

  /**
   * For a device with a packet counter, at its first packet after a reported silence: how long
   * the silence lasted (seconds), to unwrap the counter; undefined otherwise.
   */
  takeSilence(at = localClock()): number | undefined {
    if (this.silentAt === undefined || this.measured) return undefined;
    this.measured = true;
    return at - this.silentAt;
  }

  /** Adds one sample (`nch` values, already in the channels' units). */
  push(values: ArrayLike<number>, at = localClock()): void {
    if (this.gapPending) {
      // how long the port was gone tells how many samples are missing (silence included)
      this.gapPending = false;
      this.silentAt = undefined;
      if (this.lastTime >= 0) this.lost(this.missingByTime(at), 'reconnect', at);
    } else if (this.silentAt !== undefined) {
      if (!this.counted && this.lastTime >= 0) this.lost(this.missingByTime(at), 'silence', at);
      const silence = this.endSilence(at);
      if (silence !== undefined) this.losses.warning(`${this.where}: samples again after ${silence.toFixed(2)} s silent; none missing`);
    }
    this.lastArrival = at;
    this.garbageAtLastSample = this.stats.garbageBytes;
    if (this.n === 0) this.first = this.next;
    if ((this.n + 1) * this.nch > this.out.length) this.flush(at);
    const o = this.n * this.nch;
    for (let c = 0; c < this.nch; c++) this.out[o + c] = values[c];
    this.n++;
    this.next++;
  }

  /** `samples` samples never arrived: the next sample index moves past them, the loss log says so. */
  lost(samples: number, reason: DropReason, at = localClock()): void {
    if (samples <= 0) return;
    this.flush(at);
    const silence = reason === 'reconnect' ? undefined : this.endSilence(at);
    const why = silence === undefined ? reason : 'silence';
    const rate = this.info.sampleRate;
    this.losses.gap({
      time: this.lastTime >= 0 ? this.lastTime + 1 / rate : at,
      samples,
      seconds: samples / rate,
      cause: silence === undefined ? CAUSES[why] : `${CAUSES.silence} (no samples for ${silence.toFixed(2)} s)`,
    });
    this.stats.droppedSamples += samples;
    if (this.stats.drops.length < MAX_DROPS_KEPT) this.stats.drops.push({ atSample: this.next + samples, samples, reason: why });
    this.next += samples;
  }

  /** The port went away: reported now; the first sample after it measures the gap. */
  disconnected(): void {
    this.losses.warning(`${this.where}: port closed (unplugged?) at ${this.streamTime()}; reopening it`);
    this.lastArrival = undefined;
    this.silentAt = undefined;
    this.stopWatch();
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
    // The smoothed line can step back while it has seen few samples of a jittery arrival (a busy
    // host): timestamps are promised to increase, so such a stamp goes just after the one before.
    for (let i = 0, prev = this.lastTime; i < n; prev = timestamps[i++]) if (timestamps[i] <= prev) timestamps[i] = prev + MIN_STEP;
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

  private missingByTime(at: number): number {
    return Math.max(0, Math.round((at - this.lastTime) * this.info.sampleRate) - 1);
  }

  private streamTime(): string {
    return `t=${(this.next / this.info.sampleRate).toFixed(2)} s`;
  }

  private checkSilence(now: number): void {
    if (this.silentAt !== undefined || this.lastArrival === undefined || now - this.lastArrival <= this.silenceSeconds) return;
    this.silentAt = this.lastArrival;
    this.measured = false;
    const garbage = this.stats.garbageBytes - this.garbageAtLastSample;
    this.losses.warning(
      `${this.where}: device silent since ${this.streamTime()} (no samples for ${(now - this.lastArrival).toFixed(1)} s` + (garbage > 0 ? `; ${garbage} bytes that were no packet` : '') + ')',
    );
  }

  /** Ends a reported silence; its length in seconds, undefined if none was reported. */
  private endSilence(at: number): number | undefined {
    const silence = this.silentAt === undefined ? undefined : at - this.silentAt;
    this.silentAt = undefined;
    return silence;
  }
}
