import { Observable } from 'rxjs';
import type { ChannelInfo, Chunk, StreamInfo } from '../../src/stream/types.js';
import { CytonFramer } from './cyton-framer.js';
import { BAUD_RATE, channelSettingsCommand, CYTON_RATE, microvoltsPerCount, type CytonPacket } from './cyton-protocol.js';
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
}

export interface CytonSource {
  readonly info: StreamInfo;
  readonly stats: SerialStats;
  readonly chunks$: Observable<Chunk>;
}

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
  const log = opts.log ?? (() => {});
  const gainCommands = (): string[] => (opts.gain === undefined ? [] : Array.from({ length: nch }, (_, k) => channelSettingsCommand(k + 1, gain)));

  const chunks$ = new Observable<Chunk>((subscriber) => {
    const samples = new SampleAssembler(info, stats, subscriber);
    const row = new Float32Array(nch);
    const framer = new CytonFramer();
    let lastCounter = -1;
    let daisyHalf: Int32Array | undefined;
    let daisyCounter = -1;
    // Handshake: each command answers with text ending in "$$$"; the next goes after it.
    let commands: string[] = [];
    let handshake = false;
    let text = '';
    let timer: NodeJS.Timeout | undefined;

    const onPacket = (p: CytonPacket): void => {
      stats.packets++;
      if (lastCounter >= 0) {
        const lost = (p.counter - lastCounter - 1) & 0xff;
        if (lost > 0) {
          stats.droppedPackets += lost;
          // with a Daisy a sample is two packets: count the odd (completing) counters skipped
          let missing = lost;
          if (opts.daisy) {
            missing = 0;
            for (let k = 1; k <= lost; k++) if (((lastCounter + k) & 0xff) % 2 === 1) missing++;
          }
          samples.lost(missing, 'counter');
        }
      }
      lastCounter = p.counter;
      if (opts.daisy) {
        if (p.counter % 2 === 0) {
          daisyHalf = p.counts;
          daisyCounter = p.counter;
          return;
        }
        const half = daisyHalf;
        daisyHalf = undefined;
        if (!half || ((p.counter - 1) & 0xff) !== daisyCounter) return; // its Daisy half was lost (counted above)
        for (let c = 0; c < 8; c++) row[8 + c] = half[c] * scale;
      }
      for (let c = 0; c < 8; c++) row[c] = p.counts[c] * scale;
      samples.push(row);
    };

    const link = new SerialConnection(opts.path, opts.baudRate ?? BAUD_RATE, {
      log,
      onOpen(port, reconnect) {
        framer.reset();
        if (reconnect) {
          samples.reconnected();
          port.write('b');
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
            port.write('b');
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
        if (handshake) {
          text += d.toString('latin1');
          const end = text.indexOf('$$$');
          if (end < 0) return;
          const rest = Buffer.from(text.slice(end + 3), 'latin1');
          text = '';
          nextCommand();
          if (handshake || rest.length === 0) return;
          d = rest;
        }
        framer.push(d, onPacket);
        stats.garbageBytes = framer.garbageBytes;
        samples.flush();
      },
      onLost() {
        lastCounter = -1;
        daisyHalf = undefined;
      },
    });
    let nextCommand: () => void = () => {};
    link.start();
    return () => {
      clearTimeout(timer);
      link.stop('s');
    };
  });
  return { info, stats, chunks$ };
}
