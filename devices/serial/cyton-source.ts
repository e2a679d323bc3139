import { performance } from 'node:perf_hooks';
import { Observable } from 'rxjs';
import { SerialPort } from 'serialport';
import { Dejitter } from '../../src/dsp/dejitter.js';
import type { ChannelInfo, Chunk, StreamInfo } from '../../src/stream/types.js';
import { localClock } from '../lsl/lsl-clock.js';
import { CytonFramer } from './cyton-framer.js';
import { BAUD_RATE, channelSettingsCommand, CYTON_RATE, microvoltsPerCount, type CytonPacket } from './cyton-protocol.js';

export interface CytonOptions {
  readonly path: string;
  readonly daisy: boolean;
  /** Channel labels (default Ch1..Ch8 / Ch1..Ch16). */
  readonly labels?: readonly string[];
  /** Gain of every channel (default 24); sent to the board and used for scaling. */
  readonly gain?: number;
  readonly baudRate?: number;
  /** Send a soft reset ('v') and wait for the board's "$$$" before streaming (default true). */
  readonly reset?: boolean;
  readonly log?: (message: string) => void;
}

/** What the reader saw: every drop and gap is counted and placed, never interpolated. */
export interface CytonStats {
  packets: number;
  samples: number;
  garbageBytes: number;
  droppedPackets: number;
  droppedSamples: number;
  /** Where samples went missing: the index of the first sample after the hole, and how many. */
  drops: { atSample: number; samples: number; reason: 'counter' | 'reconnect' }[];
  reconnects: number;
}

export interface CytonSource {
  readonly info: StreamInfo;
  readonly stats: CytonStats;
  readonly chunks$: Observable<Chunk>;
}

const BACKOFF_MS = [100, 200, 400, 800, 1600, 2000];

export function openCytonSource(opts: CytonOptions): CytonSource {
  const nch = opts.daisy ? 16 : 8;
  const rate = opts.daisy ? CYTON_RATE / 2 : CYTON_RATE;
  const gain = opts.gain ?? 24;
  const scale = microvoltsPerCount(gain);
  if (opts.labels && opts.labels.length !== nch) throw new Error(`serial source ${opts.path}: ${opts.labels.length} labels given for ${nch} channels`);
  const channels: ChannelInfo[] = Array.from({ length: nch }, (_, c) => ({ label: opts.labels?.[c] ?? `Ch${c + 1}`, type: 'eeg', unit: 'uV' }));
  const info: StreamInfo = { name: opts.daisy ? 'OpenBCI Cyton+Daisy' : 'OpenBCI Cyton', type: 'EEG', sourceId: `serial:${opts.daisy ? 'cyton-daisy' : 'cyton'}:${opts.path}`, channels, sampleRate: rate };
  const stats: CytonStats = { packets: 0, samples: 0, garbageBytes: 0, droppedPackets: 0, droppedSamples: 0, drops: [], reconnects: 0 };
  const log = opts.log ?? (() => {});

  const chunks$ = new Observable<Chunk>((subscriber) => {
    let port: SerialPort | undefined;
    let stopped = false;
    let attempt = 0;
    let retry: NodeJS.Timeout | undefined;
    let framer = new CytonFramer();
    let garbageBefore = 0;
    let lastCounter = -1;
    let daisyHalf: Int32Array | undefined;
    let daisyCounter = -1;
    let next = 0; // index of the next sample
    let lastTime = -1;
    let afterReconnect = false;
    const dejitter = new Dejitter(rate, 10);

    const noteDrop = (samples: number, reason: 'counter' | 'reconnect'): void => {
      if (samples <= 0) return;
      stats.droppedSamples += samples;
      stats.drops.push({ atSample: next + samples, samples, reason });
      next += samples;
    };

    const onPackets = (packets: CytonPacket[]): void => {
      const now = localClock();
      const out = new Float32Array(packets.length * nch);
      let n = 0;
      let first = -1;
      for (const p of packets) {
        stats.packets++;
        if (afterReconnect) {
          // how long the port was gone tells how many samples are missing
          afterReconnect = false;
          if (lastTime >= 0) noteDrop(Math.max(0, Math.round((now - lastTime) * rate) - 1), 'reconnect');
        } else if (lastCounter >= 0) {
          const lost = (p.counter - lastCounter - 1) & 0xff;
          if (lost > 0) {
            stats.droppedPackets += lost;
            // in Daisy mode a sample is two packets; count the odd (completing) counters skipped
            let samples = lost;
            if (opts.daisy) {
              samples = 0;
              for (let k = 1; k <= lost; k++) if (((lastCounter + k) & 0xff) % 2 === 1) samples++;
            }
            if (opts.daisy && daisyHalf && p.counter % 2 === 1 && ((p.counter - 1) & 0xff) !== daisyCounter) daisyHalf = undefined;
            if (n > 0) {
              // flush what we have so the hole sits between chunks
              emit(out.subarray(0, n * nch), n, first, now);
              n = 0;
            }
            noteDrop(samples, 'counter');
          }
        }
        lastCounter = p.counter;
        if (opts.daisy) {
          if (p.counter % 2 === 0) {
            daisyHalf = p.counts;
            daisyCounter = p.counter;
            continue;
          }
          if (!daisyHalf || ((p.counter - 1) & 0xff) !== daisyCounter) {
            daisyHalf = undefined;
            continue; // the Daisy half of this sample was lost (already counted)
          }
        }
        if (n === 0) first = next;
        const o = n * nch;
        for (let c = 0; c < 8; c++) out[o + c] = p.counts[c] * scale;
        if (opts.daisy) for (let c = 0; c < 8; c++) out[o + 8 + c] = daisyHalf![c] * scale;
        daisyHalf = undefined;
        n++;
        next++;
      }
      stats.garbageBytes = garbageBefore + framer.garbageBytes;
      if (n > 0) emit(out.subarray(0, n * nch), n, first, now);
    };

    const emit = (data: Float32Array, n: number, firstSample: number, arrival: number): void => {
      const timestamps = new Float64Array(n);
      for (let i = 0; i < n; i++) timestamps[i] = arrival - (n - 1 - i) / rate;
      dejitter.apply(timestamps, firstSample);
      lastTime = timestamps[n - 1];
      stats.samples += n;
      subscriber.next({ info, data: data.slice(), samples: n, firstSample, time: timestamps[0], timestamps, markers: [], receivedAt: performance.now() });
    };

    const open = (): void => {
      if (stopped) return;
      const p = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? BAUD_RATE, autoOpen: false });
      port = p;
      p.open((err) => {
        if (stopped) return void (p.isOpen && p.close());
        if (err) return scheduleRetry(`cannot open ${opts.path}: ${err.message}`);
        attempt = 0;
        const reconnecting = stats.packets > 0 || stats.reconnects > 0;
        garbageBefore += framer.garbageBytes;
        framer = new CytonFramer();
        // Handshake: each command answers with text ending in "$$$"; send the next one after it.
        const commands = reconnecting ? [] : [...(opts.reset !== false ? ['v'] : []), opts.daisy ? 'C' : 'c', ...gainCommands()];
        let handshake = commands.length > 0;
        let text = '';
        let timer: NodeJS.Timeout | undefined;
        const sendNext = (): void => {
          clearTimeout(timer);
          const cmd = commands.shift();
          if (cmd === undefined) {
            handshake = false;
            p.write('b');
            return;
          }
          p.write(cmd);
          timer = setTimeout(() => {
            log(`serial ${opts.path}: no "$$$" after "${cmd}"; going on`);
            text = '';
            sendNext();
          }, 1500);
        };
        p.on('data', (d: Buffer) => {
          if (handshake) {
            text += d.toString('latin1');
            const end = text.indexOf('$$$');
            if (end < 0) return;
            const rest = Buffer.from(text.slice(end + 3), 'latin1');
            text = '';
            sendNext();
            if (handshake || rest.length === 0) return;
            d = rest;
          }
          const packets: CytonPacket[] = [];
          framer.push(d, (pk) => packets.push(pk));
          if (packets.length > 0 || framer.garbageBytes > 0) onPackets(packets);
        });
        p.on('close', () => {
          if (stopped) return;
          stats.reconnects++;
          afterReconnect = true;
          lastCounter = -1;
          daisyHalf = undefined;
          scheduleRetry(`${opts.path} closed (unplugged?)`);
        });
        p.on('error', (e) => log(`serial ${opts.path}: ${e.message}`));
        if (reconnecting) {
          afterReconnect = true;
          p.write('b');
        } else {
          p.write('s');
          sendNext();
        }
      });
    };

    const gainCommands = (): string[] =>
      opts.gain === undefined ? [] : Array.from({ length: nch }, (_, k) => channelSettingsCommand(k + 1, gain));

    const scheduleRetry = (why: string): void => {
      if (stopped) return;
      const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt++;
      if (attempt === 1 || attempt % 10 === 0) log(`serial: ${why}; retrying in ${delay} ms`);
      retry = setTimeout(open, delay);
    };

    open();
    return () => {
      stopped = true;
      clearTimeout(retry);
      if (port?.isOpen) {
        port.write('s');
        port.drain(() => port?.close());
      }
    };
  });
  return { info, stats, chunks$ };
}
