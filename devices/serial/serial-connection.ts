import { SerialPortStream } from '@serialport/stream';
import { serialBinding } from './hangup-aware-binding.js';

/**
 * A serial port that comes back: opened with the real serialport binding (hang-up aware, see
 * hangup-aware-binding.ts), reopened with backoff
 * (100 ms doubling to 2 s) when it closes under us (a USB adapter pulled out) or cannot be opened
 * yet (plugged in later).
 */
export interface SerialConnectionHooks {
  /** The port is open; `reconnect` is true after the first time. */
  onOpen(port: SerialPortStream, reconnect: boolean): void;
  onData(bytes: Buffer): void;
  /** The port went away (not called when we stop). */
  onLost(): void;
  log(message: string): void;
}

const BACKOFF_MS = [100, 200, 400, 800, 1600, 2000];

export class SerialConnection {
  private port: SerialPortStream | undefined;
  private stopped = false;
  private attempt = 0;
  private opens = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    readonly baudRate: number,
    private readonly hooks: SerialConnectionHooks,
  ) {}

  start(): void {
    if (this.stopped) return;
    const p = new SerialPortStream({ binding: serialBinding, path: this.path, baudRate: this.baudRate, autoOpen: false });
    this.port = p;
    p.open((err) => {
      if (this.stopped) return void (p.isOpen && p.close());
      if (err) return this.scheduleRetry(`cannot open ${this.path}: ${err.message}`);
      this.attempt = 0;
      p.on('data', (d: Buffer) => this.hooks.onData(d));
      p.on('error', (e) => this.hooks.log(`serial ${this.path}: ${e.message}`));
      p.on('close', () => {
        if (this.stopped) return;
        this.hooks.onLost();
        this.scheduleRetry(`${this.path} closed (unplugged?)`);
      });
      this.hooks.onOpen(p, this.opens++ > 0);
    });
  }

  /** Writes `finalBytes` (e.g. a stop command) if open, then closes for good. */
  stop(finalBytes?: string): void {
    this.stopped = true;
    clearTimeout(this.retry);
    const p = this.port;
    if (p?.isOpen) {
      if (finalBytes) p.write(finalBytes);
      p.drain(() => p.close());
    }
  }

  private scheduleRetry(why: string): void {
    if (this.stopped) return;
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    if (this.attempt === 1 || this.attempt % 10 === 0) this.hooks.log(`serial: ${why}; retrying in ${delay} ms`);
    this.retry = setTimeout(() => this.start(), delay);
  }
}
