import path from 'node:path';
import { ReadlineParser, SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAP, parseMap, ProstheticHand, type Ack } from '../examples/prosthetic-hand.js';
import { NeurorxClient, type CommandMessage } from '../src/client/neurorx-client.js';
import { loadConfig } from '../src/config/config-schema.js';
import type { HelloInfo } from '../src/server/messages.js';
import { BciServer } from '../src/server/ws-server.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { haveSocat, PtyPair } from './helpers/pty-pair.js';
import { until } from './helpers/ws-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * The gripper's end of a pty pair: records every line it reads and answers each with `reply`
 * (default OK).
 */
async function fakeDevice(pathName: string, reply: (line: string) => string = () => 'OK'): Promise<{ lines: string[] }> {
  const port = await new Promise<SerialPort>((resolve, reject) => {
    const p: SerialPort = new SerialPort({ path: pathName, baudRate: 115200 }, (e) => (e ? reject(e) : resolve(p)));
  });
  cleanup.push(() => new Promise((r) => (port.isOpen ? port.close(() => r(undefined)) : r(undefined))));
  const lines: string[] = [];
  port.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (line: string) => {
    lines.push(line);
    port.write(`${reply(line)}\n`);
  });
  return { lines };
}

describe('command-line mapping', () => {
  it('parses lists and JSON, and refuses actions that are not one upper-case word', () => {
    expect(parseMap('left=OPEN,right=CLOSE')).toEqual(DEFAULT_MAP);
    expect(parseMap('{"left":"OPEN","rest":"STOP"}')).toEqual({ left: 'OPEN', rest: 'STOP' });
    expect(() => parseMap('left=open')).toThrow(/"open" is not an action/);
    expect(() => parseMap('left=OPEN\nGRIP CLOSE')).toThrow(/is not an action/);
    expect(() => parseMap('left')).toThrow(/not command=ACTION/);
    expect(() => parseMap('{"left":')).toThrow(/not valid JSON/);
  });
});

const socat = haveSocat();

describe.skipIf(!socat)('the prosthetic-hand example over a real pty pair', () => {
  it('turns the live session’s commands into GRIP lines in order, reads the acks, and stops the gripper when the session goes away', async () => {
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const device = await fakeDevice(pty.board);

    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    config.source.replay = { speed: 20, chunkSize: 16, loop: false };
    let session: Session | undefined = await startSession(config);
    cleanup.push(() => session?.stop());
    const url = session.server.address.url;

    // The observer connects first, so it sees every command the hand sees (and maybe earlier ones).
    const observer = new NeurorxClient();
    cleanup.push(() => observer.close());
    const observed: CommandMessage[] = [];
    observer.on('command', (m) => observed.push(m));
    await observer.connect(url);

    const logs: string[] = [];
    const acks: Ack[] = [];
    const hand = await ProstheticHand.start({ url, port: pty.host, log: (l) => logs.push(l), onAck: (a) => acks.push(a) });
    cleanup.push(() => hand.stop());
    const received: CommandMessage[] = [];
    hand.client.on('command', (m) => received.push(m));

    await until(() => device.lines.length >= 4, 30_000);
    // Pausing the session stops the gripper; no commands until it resumes.
    observer.pause();
    await until(() => device.lines.at(-1) === 'GRIP STOP', 5_000);
    const atPause = device.lines.length;
    await sleep(600); // 12 s of stream: a few commands if the session still sent them
    expect(device.lines.length).toBe(atPause);
    observer.resume();
    await until(() => device.lines.length >= atPause + 2, 30_000);

    await session.stop();
    session = undefined;
    await until(() => device.lines.at(-1) === 'GRIP STOP', 5_000);
    const lines = [...device.lines];
    const motions = lines.filter((l) => l !== 'GRIP STOP');
    expect(lines.filter((l) => l === 'GRIP STOP')).toHaveLength(2); // the pause, the drop
    expect(lines.indexOf('GRIP STOP')).toBe(atPause - 1);

    // Every command the hand got became its mapped line, in order ...
    expect(received.length).toBeGreaterThanOrEqual(6);
    expect(motions).toEqual(received.map((m) => `GRIP ${DEFAULT_MAP[m.command]}`));
    expect(new Set(motions)).toEqual(new Set(['GRIP OPEN', 'GRIP CLOSE']));
    // ... and those are the last commands the independent observer saw, same order, same decisions.
    const tail = observed.slice(observed.length - received.length);
    expect(tail.map((m) => [m.seq, m.command])).toEqual(received.map((m) => [m.seq, m.command]));

    // The device acknowledged every line, the hand matched each OK to its line.
    await until(() => acks.length === lines.length, 5_000);
    expect(acks.map((a) => a.line)).toEqual(lines);
    expect(acks.every((a) => a.ok)).toBe(true);
    expect(logs.filter((l) => /^device: OK \(GRIP OPEN/.test(l)).length).toBeGreaterThan(0);
    expect(logs.some((l) => /^connection lost .*fail-safe GRIP STOP/.test(l))).toBe(true);

    // Exiting stops the gripper once more.
    await hand.stop();
    await until(() => device.lines.length === lines.length + 1, 5_000);
    expect(device.lines.at(-1)).toBe('GRIP STOP');
  }, 90_000);

  it('ignores commands while the session is paused and logs ERR answers (scripted server)', async () => {
    const pty = await new PtyPair().start();
    cleanup.push(() => pty.kill());
    const device = await fakeDevice(pty.board, (line) => (line === 'GRIP CLOSE' ? 'ERR overcurrent' : 'OK'));
    let state: HelloInfo['state'] = 'running';
    const server = await BciServer.start({ port: 0 }, () => ({
      type: 'hello',
      protocol: 2,
      server: 'scripted',
      pipeline: { kind: 'motor-imagery', name: 'scripted' },
      stream: { name: 's', type: 'EEG', sampleRate: 160, channels: ['C3', 'C4'] },
      state,
    }));
    let serverOpen = true;
    cleanup.push(() => serverOpen && server.close());

    const logs: string[] = [];
    const acks: Ack[] = [];
    const hand = await ProstheticHand.start({ url: server.address.url, port: pty.host, map: { left: 'OPEN', right: 'CLOSE' }, log: (l) => logs.push(l), onAck: (a) => acks.push(a) });
    cleanup.push(() => hand.stop());
    await until(() => hand.client.connected && server.clientCount === 1, 5_000);
    const command = (name: string, seq: number) => server.broadcast({ type: 'command', command: name, label: name, seq, timestamp: seq });

    command('left', 1);
    await until(() => device.lines.length === 1, 5_000);
    state = 'paused';
    server.broadcast({ type: 'status', state, detail: 'paused by a client' });
    await until(() => device.lines.length === 2, 5_000);
    command('right', 2); // must be ignored
    state = 'running';
    server.broadcast({ type: 'status', state, detail: 'resumed' });
    command('rest', 3); // not mapped: ignored
    command('right', 4);
    await until(() => device.lines.length === 3, 5_000);
    expect(device.lines).toEqual(['GRIP OPEN', 'GRIP STOP', 'GRIP CLOSE']);
    expect(logs).toContain('command right (#2) ignored: session paused');
    expect(logs).toContain('command rest (#3) is not mapped: ignored');
    await until(() => acks.length === 3, 5_000);
    expect(acks.map((a) => [a.line, a.ok, a.reason])).toEqual([
      ['GRIP OPEN', true, undefined],
      ['GRIP STOP', true, undefined],
      ['GRIP CLOSE', false, 'overcurrent'],
    ]);
    expect(logs).toContain('device: ERR overcurrent (GRIP CLOSE)');

    // The server vanishes: fail-safe stop, then the hand keeps trying to reconnect.
    await server.close();
    serverOpen = false;
    await until(() => device.lines.length === 4, 5_000);
    expect(device.lines[3]).toBe('GRIP STOP');
    await until(() => logs.some((l) => /^cannot connect to .*retrying in/.test(l)), 5_000);
  }, 30_000);
});
