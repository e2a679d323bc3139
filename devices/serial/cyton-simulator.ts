import { SerialPort } from 'serialport';
import { CHANNEL_CHARS, CYTON_RATE, encodePacket, GAINS, microvoltsPerCount } from './cyton-protocol.js';

/**
 * A simulated OpenBCI Cyton (optionally with Daisy) on a serial port: put it on one end of a
 * pseudo-terminal pair (`socat pty,raw,echo=0,link=/tmp/cyton pty,raw,echo=0,link=/tmp/cyton-host`)
 * and open the other end as `serial:cyton:/tmp/cyton-host`. It answers the commands the way the
 * firmware does (text ending in "$$$"), streams packets at 250 Hz paced by the clock, and can be
 * told to inject garbage, drop packets or repeat them, for tests of the reader.
 */
export type SignalFn = (sample: number, channel: number) => number;

export interface SimulatorOptions {
  readonly path: string;
  readonly daisy?: boolean;
  /** Microvolts of channel `channel` (0-based) at sample `sample`; converted with the channel's gain. */
  readonly signal: SignalFn;
  readonly baudRate?: number;
}

export class CytonSimulator {
  private streaming = false;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private sentPackets = 0;
  private counter = 0;
  private sample = 0;
  private skip = 0;
  private skipFrom: 'even' | 'odd' | undefined;
  private daisy: boolean;
  private readonly gains: number[];
  private command = '';
  /** Packets written, deliberately not written, and written again. */
  packetsSent = 0;
  packetsDropped = 0;
  packetsRepeated = 0;
  private readonly recent: Buffer[] = [];

  private constructor(
    private readonly port: SerialPort,
    private readonly opts: SimulatorOptions,
  ) {
    this.daisy = opts.daisy ?? false;
    this.gains = new Array<number>(16).fill(24);
    port.on('data', (d: Buffer) => this.onCommand(d.toString('latin1')));
    port.on('error', () => {});
  }

  static open(opts: SimulatorOptions): Promise<CytonSimulator> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate ?? 115200 }, (err) => (err ? reject(err) : resolve(new CytonSimulator(port, opts))));
    });
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  /** Writes bytes between two packets, as line noise would. */
  injectGarbage(bytes: Buffer): void {
    this.port.write(bytes);
  }

  /** The next `n` packets are counted but not sent (from the next one with an even or odd counter, if given). */
  dropPackets(n: number, from?: 'even' | 'odd'): void {
    this.skip += n;
    this.skipFrom = from;
  }

  /** Sends the last `n` packets sent (up to 16) once more, as a radio link repeating a block. */
  repeatLast(n: number): void {
    const again = this.recent.slice(-n);
    this.packetsRepeated += again.length;
    if (again.length > 0 && this.port.isOpen) this.port.write(Buffer.concat(again));
  }

  async close(): Promise<void> {
    this.stop();
    if (this.port.isOpen) await new Promise<void>((r) => this.port.close(() => r()));
  }

  private reply(text: string): void {
    this.port.write(text + '$$$');
  }

  private onCommand(text: string): void {
    for (const ch of text) {
      if (this.command.length > 0) {
        this.command += ch;
        if (ch === 'X' && this.command.length === 9) this.channelSettings(this.command);
        if (ch === 'X' || this.command.length >= 9) this.command = '';
        continue;
      }
      switch (ch) {
        case 'x':
          this.command = 'x';
          break;
        case 'b':
          this.start();
          break;
        case 's':
          this.stop();
          break;
        case 'v':
          this.stop();
          this.gains.fill(24);
          this.reply(
            'OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n' + (this.daisy ? 'On Daisy ADS1299 Device ID: 0x3E\n' : '') + 'LIS3DH Device ID: 0x33\nFirmware: v3.1.2 (neurorx simulator)\n',
          );
          break;
        case 'd':
          this.gains.fill(24);
          this.reply('updating channel settings to default');
          break;
        case 'C':
          this.reply(this.opts.daisy ? '16' : 'no daisy to attach!8');
          this.daisy = this.opts.daisy ?? false;
          break;
        case 'c':
          this.daisy = false;
          this.reply(this.opts.daisy ? 'daisy removed8' : '8');
          break;
        default:
          break; // other commands are accepted silently, as most are by the firmware
      }
    }
  }

  private channelSettings(cmd: string): void {
    const channel = CHANNEL_CHARS.indexOf(cmd[1]) + 1;
    const gain = GAINS[Number(cmd[3])];
    if (channel < 1 || gain === undefined) return this.reply('Failure: Channel settings invalid');
    this.gains[channel - 1] = gain;
    this.reply(`Success: Channel set for ${channel}`);
  }

  private start(): void {
    if (this.streaming) return;
    this.streaming = true;
    this.started = performance.now();
    this.sentPackets = 0;
    this.timer = setInterval(() => this.tick(), 10);
  }

  private stop(): void {
    this.streaming = false;
    clearInterval(this.timer);
  }

  private tick(): void {
    const packetRate = CYTON_RATE; // with Daisy: two packets per 125 Hz sample
    const due = Math.floor(((performance.now() - this.started) / 1000) * packetRate);
    const parts: Buffer[] = [];
    while (this.sentPackets < due) {
      this.sentPackets++;
      const daisyHalf = this.daisy && this.counter % 2 === 0;
      const offset = daisyHalf ? 8 : 0;
      const counts = new Array<number>(8);
      for (let c = 0; c < 8; c++) counts[c] = this.opts.signal(this.sample, c + offset) / microvoltsPerCount(this.gains[c + offset]);
      const packet = encodePacket(this.counter, counts);
      if (!this.daisy || !daisyHalf) this.sample++;
      this.counter = (this.counter + 1) & 0xff;
      if (this.skipFrom !== undefined && (packet[1] % 2 === 0) === (this.skipFrom === 'even')) this.skipFrom = undefined;
      if (this.skip > 0 && this.skipFrom === undefined) {
        this.skip--;
        this.packetsDropped++;
        continue;
      }
      parts.push(packet);
      this.packetsSent++;
      this.recent.push(packet);
      if (this.recent.length > 16) this.recent.shift();
    }
    if (parts.length > 0 && this.port.isOpen) this.port.write(Buffer.concat(parts));
  }
}
