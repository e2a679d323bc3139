/**
 * Prosthetic hand: drives a gripper on a serial port from the `command` messages of a neurorx
 * session (the control stage's "left"/"right" in the default config).
 *
 *   node dist/examples/prosthetic-hand.js --port /dev/ttyUSB0 --url ws://127.0.0.1:8765 \
 *     [--baud 115200] [--map left=OPEN,right=CLOSE] [--token T] [--heartbeat 2000]
 *
 * Line protocol (ASCII, one line per command, LF-terminated; CR before LF is tolerated on input):
 *
 *   host -> device   GRIP <ACTION>\n   ACTION: an upper-case word, [A-Z][A-Z0-9_]*
 *                    GRIP OPEN\n       e.g. from the command "left" (default mapping)
 *                    GRIP CLOSE\n      e.g. from the command "right"
 *                    GRIP STOP\n       halt the motors and hold position (never release)
 *   device -> host   OK\n              the last unanswered command was accepted
 *                    ERR <reason>\n    it was refused, e.g. "ERR overcurrent"
 *                    anything else     logged as a device message
 *
 * Every command gets exactly one answer, in order. The mapping from neurorx commands to actions
 * is JSON or a list (`--map '{"left":"OPEN","right":"CLOSE"}'` or `--map left=OPEN,right=CLOSE`);
 * commands not in it are logged and ignored.
 *
 * Fail-safe: GRIP STOP is sent when the connection to neurorx drops (closed, or silent for a
 * heartbeat), when the session pauses or stops, and on exit (SIGINT/SIGTERM); commands that arrive while
 * the session is paused are ignored. The client reconnects by itself; the device waits in STOP.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ReadlineParser, SerialPort } from 'serialport';
import { NeurorxClient, type CommandMessage, type SessionState } from '../src/client/neurorx-client.js';

export const DEFAULT_MAP: Readonly<Record<string, string>> = { left: 'OPEN', right: 'CLOSE' };
const ACTION = /^[A-Z][A-Z0-9_]*$/;

export interface ProstheticHandOptions {
  /** neurorx server, e.g. ws://127.0.0.1:8765 */
  url: string;
  /** Serial device, e.g. /dev/ttyUSB0 */
  port: string;
  baudRate?: number;
  /** neurorx command -> gripper action (default left -> OPEN, right -> CLOSE). */
  map?: Record<string, string>;
  token?: string;
  /** Ping the server this often and treat a missing pong as a dropped connection (default 2000 ms; 0: off). */
  heartbeatMs?: number;
  /** Warn when the device has not answered a command within this time (default 1000 ms). */
  ackTimeoutMs?: number;
  log?: (line: string) => void;
  /** Called for every answer from the device. */
  onAck?: (ack: Ack) => void;
}

export interface Ack {
  /** The line it answers, e.g. "GRIP OPEN". */
  line: string;
  ok: boolean;
  /** The reason of an ERR. */
  reason?: string;
  /** From writing the line to the answer. */
  ms: number;
}

/** Parses `left=OPEN,right=CLOSE` or a JSON object into a validated mapping. */
export function parseMap(text: string): Record<string, string> {
  let map: unknown;
  if (text.trim().startsWith('{')) {
    try {
      map = JSON.parse(text);
    } catch (e) {
      throw new Error(`--map: not valid JSON: ${(e as Error).message}`);
    }
  } else {
    map = Object.fromEntries(
      text
        .split(',')
        .filter((p) => p.trim() !== '')
        .map((pair) => {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`--map: "${pair}" is not command=ACTION`);
          return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
        }),
    );
  }
  return validateMap(map);
}

function validateMap(map: unknown): Record<string, string> {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error('the mapping must be an object of command -> ACTION');
  const entries = Object.entries(map);
  if (entries.length === 0) throw new Error('the mapping is empty');
  for (const [command, action] of entries) {
    if (typeof action !== 'string' || !ACTION.test(action)) {
      throw new Error(`mapping for "${command}": ${JSON.stringify(action)} is not an action (an upper-case word such as OPEN)`);
    }
  }
  return Object.fromEntries(entries);
}

/** The bridge: a neurorx client on one side, the gripper's serial port on the other. */
export class ProstheticHand {
  readonly client = new NeurorxClient();
  /** Resolves when the hand stops: after stop(), or with an error when the serial port fails. */
  readonly done: Promise<{ error?: Error }>;
  private finish!: (r: { error?: Error }) => void;
  private readonly map: Record<string, string>;
  readonly log: (line: string) => void;
  private readonly pending: { line: string; sentAt: number; timer: ReturnType<typeof setTimeout> }[] = [];
  private linkUp = false;
  private lastState: SessionState | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly port: SerialPort,
    private readonly options: ProstheticHandOptions,
  ) {
    this.map = validateMap(options.map ?? DEFAULT_MAP);
    this.log = options.log ?? ((line) => console.log(`${new Date().toISOString()} ${line}`));
    this.done = new Promise((resolve) => (this.finish = resolve));
    const lines = port.pipe(new ReadlineParser({ delimiter: '\n' }));
    lines.on('data', (line: string) => this.answer(line.replace(/\r$/, '')));
    port.on('error', (e) => this.log(`serial ${options.port}: ${e.message}`));
    port.on('close', () => {
      if (this.stopping) return;
      this.log(`serial ${options.port} closed unexpectedly`);
      this.client.close();
      this.finish({ error: new Error(`serial port ${options.port} closed`) });
    });
    this.wire();
  }

  /** Opens the serial port, then connects to neurorx (retrying until the server is there). */
  static async start(options: ProstheticHandOptions): Promise<ProstheticHand> {
    validateMap(options.map ?? DEFAULT_MAP);
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const p: SerialPort = new SerialPort({ path: options.port, baudRate: options.baudRate ?? 115200 }, (e) => (e ? reject(new Error(`cannot open ${options.port}: ${e.message}`)) : resolve(p)));
    });
    const hand = new ProstheticHand(port, options);
    hand.log(`serial ${options.port} open at ${options.baudRate ?? 115200} baud; mapping ${JSON.stringify(hand.map)}`);
    hand.client.connect(options.url, { token: options.token, topics: ['command', 'status'], heartbeatMs: options.heartbeatMs ?? 2000 }).catch(() => {}); // failures are logged by the close handler; close() during connect lands here
    return hand;
  }

  /** Whether the session says it is paused. */
  get paused(): boolean {
    return this.lastState === 'paused';
  }

  /** Sends GRIP STOP, waits briefly for its answer, then closes the connection and the port. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.client.close();
      if (this.port.isOpen) {
        this.write('STOP');
        await new Promise<void>((r) => this.port.drain(() => r()));
        const t0 = Date.now();
        while (this.pending.length > 0 && Date.now() - t0 < (this.options.ackTimeoutMs ?? 1000)) await new Promise((r) => setTimeout(r, 10));
        await new Promise<void>((r) => this.port.close(() => r()));
      }
      for (const p of this.pending.splice(0)) clearTimeout(p.timer);
      this.finish({});
    })();
    return this.stopping;
  }

  private wire(): void {
    const c = this.client;
    c.on('hello', (h) => {
      this.linkUp = true;
      this.lastState = h.state;
      this.log(`connected to ${h.server} (${h.pipeline.name}), session ${h.state}`);
    });
    c.on('status', (s) => {
      const was = this.lastState;
      this.lastState = s.state;
      if (s.state === was) return;
      this.log(`session ${s.state}: ${s.detail}`);
      if (s.state === 'paused' || s.state === 'stopped') this.write('STOP');
    });
    c.on('command', (m) => this.command(m));
    c.on('close', (e) => {
      const detail = `${e.code}${e.reason ? ` ${e.reason}` : ''}`;
      const retry = e.retryInMs !== undefined ? `, retrying in ${e.retryInMs} ms` : '';
      if (this.linkUp) {
        this.linkUp = false;
        this.log(`connection lost (${detail}): fail-safe GRIP STOP${retry}`);
        this.write('STOP');
      } else {
        this.log(`cannot connect to ${this.options.url} (${detail})${retry}`);
      }
    });
    c.on('error', (e) => this.log(`neurorx ${e.source} error: ${e.message}`));
  }

  private command(m: CommandMessage): void {
    if (this.paused) return this.log(`command ${m.command} (#${m.seq}) ignored: session paused`);
    const action = this.map[m.command];
    if (action === undefined) return this.log(`command ${m.command} (#${m.seq}) is not mapped: ignored`);
    this.log(`command ${m.command} (#${m.seq}, t=${m.timestamp.toFixed(2)} s) -> GRIP ${action}`);
    this.write(action);
  }

  private write(action: string): void {
    if (!this.port.isOpen) return;
    const line = `GRIP ${action}`;
    this.port.write(`${line}\n`);
    const entry = {
      line,
      sentAt: Date.now(),
      timer: setTimeout(() => {
        const i = this.pending.indexOf(entry);
        if (i < 0) return;
        this.pending.splice(i, 1);
        this.log(`device did not answer ${line} within ${this.options.ackTimeoutMs ?? 1000} ms`);
      }, this.options.ackTimeoutMs ?? 1000),
    };
    entry.timer.unref();
    this.pending.push(entry);
  }

  /** A line from the device: OK / ERR <reason> answer the oldest unanswered command. */
  private answer(text: string): void {
    const ok = text === 'OK';
    const err = /^ERR(?:\s+(.*))?$/.exec(text);
    if (!ok && !err) {
      if (text.trim() !== '') this.log(`device: ${text}`);
      return;
    }
    const p = this.pending.shift();
    if (!p) return this.log(`device: unexpected "${text}" (no command waiting)`);
    clearTimeout(p.timer);
    const ack: Ack = { line: p.line, ok, ms: Date.now() - p.sentAt, ...(err ? { reason: err[1] ?? '' } : {}) };
    this.log(ok ? `device: OK (${p.line}, ${ack.ms} ms)` : `device: ERR ${ack.reason} (${p.line})`);
    this.options.onAck?.(ack);
  }
}

const USAGE = 'usage: prosthetic-hand --port /dev/ttyUSB0 [--url ws://127.0.0.1:8765] [--baud 115200] [--map left=OPEN,right=CLOSE] [--token T] [--heartbeat 2000]';

export async function main(argv: string[]): Promise<number> {
  let opts: ProstheticHandOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        url: { type: 'string', default: 'ws://127.0.0.1:8765' },
        baud: { type: 'string', default: '115200' },
        map: { type: 'string' },
        token: { type: 'string' },
        heartbeat: { type: 'string', default: '2000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.port) throw new Error('--port is required');
    const baudRate = Number(values.baud);
    if (!Number.isInteger(baudRate) || baudRate <= 0) throw new Error(`--baud: ${values.baud} is not a baud rate`);
    const heartbeatMs = Number(values.heartbeat);
    if (!Number.isFinite(heartbeatMs) || heartbeatMs < 0) throw new Error(`--heartbeat: ${values.heartbeat} is not a number of ms`);
    const token = values.token ?? process.env.NEURORX_TOKEN;
    opts = { port: values.port, url: values.url, baudRate, heartbeatMs, map: values.map ? parseMap(values.map) : { ...DEFAULT_MAP }, ...(token ? { token } : {}) };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const hand = await ProstheticHand.start(opts);
  const quit = (signal: string): void => {
    hand.log(`${signal}: GRIP STOP and exit`);
    void hand.stop();
  };
  process.once('SIGINT', () => quit('SIGINT'));
  process.once('SIGTERM', () => quit('SIGTERM'));
  const { error } = await hand.done;
  if (error) console.error(error.message);
  return error ? 1 : 0;
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
