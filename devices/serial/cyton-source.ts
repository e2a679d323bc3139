import { Observable } from 'rxjs';
import { LossLog } from '../../src/stream/losses.js';
import type { ChannelInfo, Chunk, StreamInfo } from '../../src/stream/types.js';
import { CytonFramer } from './cyton-framer.js';
import { BAUD_RATE, channelSettingsCommand, CYTON_RATE, microvoltsPerCount, type CytonPacket } from './cyton-protocol.js';
import { everyLiveTick } from '../lsl/live-ticks.js';
import { localClock } from '../lsl/lsl-clock.js';
import { PacketCounter } from './packet-counter.js';
import { newSerialStats, SampleAssembler, type SerialStats } from './sample-assembler.js';
import { SerialConnection } from './serial-connection.js';

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
  /** Where gaps, duplicates and silences are reported (default: a log of its own). */
  readonly losses?: LossLog;
}

export interface CytonSource {
  readonly info: StreamInfo;
  readonly stats: SerialStats;
  readonly chunks$: Observable<Chunk>;
  readonly losses: LossLog;
}

/** Characters of a command reply kept while waiting for its "$$$" (replies are a few lines). */
const MAX_REPLY = 4096;

export function openCytonSource(opts: CytonOptions): CytonSource {
  const nch = opts.daisy ? 16 : 8;
  const rate = opts.daisy ? CYTON_RATE / 2 : CYTON_RATE;
  const gain = opts.gain ?? 24;
  const scale = microvoltsPerCount(gain);
  if (opts.labels && opts.labels.length !== nch) throw new Error(`serial source ${opts.path}: ${opts.labels.length} labels given for ${nch} channels`);
  const channels: ChannelInfo[] = Array.from({ length: nch }, (_, c) => ({ label: opts.labels?.[c] ?? `Ch${c + 1}`, type: 'eeg', unit: 'uV' }));
  const info: StreamInfo = {
    name: opts.daisy ? 'OpenBCI Cyton+Daisy' : 'OpenBCI Cyton',
    type: 'EEG',
    sourceId: `serial:${opts.daisy ? 'cyton-daisy' : 'cyton'}:${opts.path}`,
    channels,
    sampleRate: rate,
  };
  const stats = newSerialStats();
  const losses = opts.losses ?? new LossLog();
  const log = opts.log ?? (() => {});
  const gainCommands = (): string[] => (opts.gain === undefined ? [] : Array.from({ length: nch }, (_, k) => channelSettingsCommand(k + 1, gain)));

  const chunks$ = new Observable<Chunk>((subscriber) => {
    const samples = new SampleAssembler(info, stats, subscriber, losses, `serial ${opts.path}`, { counted: true });
    const row = new Float32Array(nch);
    const framer = new CytonFramer();
    const counter = new PacketCounter(256);
    let daisyHalf: Int32Array | undefined;
    // Handshake: each command answers with text ending in "$$$"; the next goes after it.
    let commands: string[] = [];
    let handshake = false;
    let configured = false; // the handshake went through once
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    let stopKick = (): void => {};

    const onPacket = (p: CytonPacket, at: number): void => {
      stats.packets++;
      const previous = counter.previous;
      const silence = samples.takeSilence(at);
      // packets come at 250 Hz with or without a Daisy
      const verdict = counter.next(p.counter, silence === undefined ? undefined : silence * CYTON_RATE);
      if (verdict.kind === 'duplicate') {
        stats.duplicates++;
        return;
      }
      const lost = verdict.lost;
      stats.droppedPackets += lost;
      if (!opts.daisy) {
        samples.lost(lost, 'counter', at);
      } else {
        // A sample is a pair: an even packet (channels 9-16), then the odd one (1-8). Samples
        // missing: the odd packets lost, and this one if its even half was lost.
        const oddsLost = Math.floor((previous + lost + 1) / 2) - Math.floor((previous + 1) / 2);
        if (p.counter % 2 === 0) {
          daisyHalf = p.counts;
          samples.lost(oddsLost, 'counter', at);
          return;
        }
        const half = lost === 0 ? daisyHalf : undefined;
        daisyHalf = undefined;
        if (!half) {
          if (previous >= 0) samples.lost(oddsLost + 1, 'counter', at); // (a first packet without its half is no loss)
          return;
        }
        samples.lost(oddsLost, 'counter', at);
        for (let c = 0; c < 8; c++) row[8 + c] = half[c] * scale;
      }
      for (let c = 0; c < 8; c++) row[c] = p.counts[c] * scale;
      samples.push(row, at);
    };

    const link = new SerialConnection(opts.path, opts.baudRate ?? BAUD_RATE, {
      log,
      onOpen(port, reconnect) {
        framer.reset();
        const startStreaming = (): void => {
          port.write('b');
          samples.streaming();
          // A board that stays silent may not have heard the 'b' (opening a port flushes what was
          // sent before the other end was open; a power-cycled board waits for it): say it again.
          stopKick();
          stopKick = everyLiveTick(1000, () => {
            if (!samples.silent || !port.isOpen) return;
            log(`serial ${opts.path}: no packets; sending 'b' (start streaming) again`);
            port.write('b');
          });
        };
        if (reconnect && configured) {
          samples.reconnected();
          startStreaming();
          return;
        }
        commands = [...(opts.reset !== false ? ['v'] : []), opts.daisy ? 'C' : 'c', ...gainCommands()];
        handshake = true;
        port.write('s');
        const sendNext = (): void => {
          clearTimeout(timer);
          const cmd = commands.shift();
          if (cmd === undefined) {
            handshake = false;
            configured = true;
            startStreaming();
            return;
          }
          port.write(cmd);
          timer = setTimeout(() => {
            log(`serial ${opts.path}: no "$$$" after "${cmd}"; going on`);
            text = '';
            sendNext();
          }, 1500);
        };
        nextCommand = sendNext;
        sendNext();
      },
      onData(d) {
        const at = localClock();
        if (handshake) {
          text += d.toString('latin1');
          const end = text.indexOf('$$$');
          if (end < 0) {
            if (text.length > MAX_REPLY) text = text.slice(-2); // a reply is short: keep only what may start a "$$$"
            return;
          }
          const rest = Buffer.from(text.slice(end + 3), 'latin1');
          text = '';
          nextCommand();
          if (handshake || rest.length === 0) return;
          d = rest;
        }
        framer.push(d, (p) => onPacket(p, at));
        stats.garbageBytes = framer.garbageBytes;
        samples.flush(at);
      },
      onLost() {
        // lost in the middle of the handshake: no reply timer left behind, and the whole handshake
        // again on the next open (the board may never have heard its settings)
        clearTimeout(timer);
        handshake = false;
        text = '';
        counter.reset();
        daisyHalf = undefined;
        stopKick();
        samples.disconnected();
      },
    });
    let nextCommand: () => void = () => {};
    link.start();
    return () => {
      clearTimeout(timer);
      stopKick();
      samples.close();
      link.stop('s');
    };
  });
  return { info, stats, chunks$, losses };
}
