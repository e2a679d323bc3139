import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalHost, isLoopback, resolvesToLoopbackOnly } from '../src/server/access.js';
import { parseClientMessage } from '../src/server/messages.js';
import { BciServer, type ServerOptions } from '../src/server/ws-server.js';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import { MarkerInjector } from '../src/stream/marker-injector.js';
import { parseBoundedJson } from '../src/util/bounded-json.js';
import { streamInfo, toChunks } from './helpers/chunks.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { connect, until } from './helpers/ws-client.js';
import { like } from './helpers/like.js';

// Each case below is a defect found by an adversarial pass (issue 15), reproduced on loopback.

const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const hello = () => ({
  type: 'hello' as const,
  protocol: 2 as const,
  server: 'neurorx test',
  pipeline: { kind: 'motor-imagery', name: 'test' },
  stream: { name: 's', type: 'EEG', sampleRate: 160, channels: ['C3', 'C4'] },
  state: 'running' as const,
});

let server: BciServer | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function start(opts: Partial<ServerOptions> = {}): Promise<BciServer> {
  server = await BciServer.start({ port: 0, ...opts }, hello);
  return server;
}

/** Sends a raw HTTP request and resolves with the status line's code (the server decides alone: no client library in between). */
function rawRequest(port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(0));
  });
}

const upgrade = (pathAndQuery: string, headers: Record<string, string>) =>
  [
    `GET ${pathAndQuery} HTTP/1.1`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');

/** `neurorx run` as a user runs it, on a free port; resolves once it serves, with its WebSocket URL. */
async function runCli(config: object, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-hard-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [CLI, 'run', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  await until(() => /ws:\/\/127\.0\.0\.1:\d+/.test(out) || child.exitCode !== null, 60_000);
  const url = /ws:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0];
  if (!url) throw new Error(`neurorx run did not start:\n${out}`);
  return { child, url, output: () => out };
}

const demoConfig = (extra: object = {}) => ({
  source: { uri: 'synthetic:motor-imagery?seed=3', replay: { speed: 1, chunkSize: 16 } },
  pipeline: { kind: 'motor-imagery', calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=3&trials=10' } },
  server: { port: 0 },
  ...extra,
});

describe('hardening: hostile WebSocket input', () => {
  it('defect 1: deeply nested JSON is refused by depth before anything recurses, and the session process carries on', async () => {
    const nested = `{"v":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const refused = parseClientMessage(nested);
    expect(refused).toMatchObject({ type: 'error' });
    expect((refused as { message: string }).message).toMatch(/nesting deeper than 8 levels at character \d+/);
    // A version that is a shallow container is named by kind, never echoed.
    expect(parseClientMessage('{"v":[[1]],"type":"ping"}')).toMatchObject({ type: 'error', path: 'v', message: like.stringContaining('an array') });

    const { child, url } = await runCli(demoConfig());
    const { ws, messages } = await connect(url);
    ws.send(nested);
    ws.send(JSON.stringify({ type: 'ping', id: 'after' }));
    await until(() => messages.some((m) => m.type === 'pong' && m.id === 'after'), 30_000);
    expect(messages.find((m) => m.type === 'error')?.message).toMatch(/nesting deeper/);
    expect(child.exitCode).toBeNull();
    ws.close();
  });

  it('bounded JSON: the limit names the character; strings with brackets and escapes do not count as nesting', () => {
    expect(() => parseBoundedJson('[[[1]]]', { maxLength: 100, maxDepth: 2 })).toThrow(/nesting deeper than 2 levels at character 2/);
    expect(parseBoundedJson('{"a":"[[[[\\"[[["}', { maxLength: 100, maxDepth: 1 })).toEqual({ a: '[[[["[[[' });
    expect(() => parseBoundedJson('"x"'.padEnd(200, ' '), { maxLength: 100, maxDepth: 1 })).toThrow(/200 characters is more than the 100 accepted/);
  });

  it('defect 2: an upgrade to the path "//[" in token mode is refused with 401, not a crash', async () => {
    const s = await start({ token: 'a'.repeat(24) });
    expect(await rawRequest(s.address.port, upgrade('//[', { Host: `127.0.0.1:${s.address.port}` }))).toBe(401);
    expect(await rawRequest(s.address.port, upgrade('//[?token=' + 'a'.repeat(24), { Host: `127.0.0.1:${s.address.port}` }))).toBe(101);
    // Still serving.
    const { ws } = await connect(`${s.address.url}/?token=${'a'.repeat(24)}`);
    ws.close();
  });

  it('defect 3: DNS rebinding: a foreign Host name is refused on HTTP and WebSocket, whatever Origin says', async () => {
    const s = await start();
    const port = s.address.port;
    expect(await rawRequest(port, upgrade('/', { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` }))).toBe(403);
    expect(await rawRequest(port, `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\n\r\n`)).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect(await rawRequest(port, upgrade('/', { Host: host, Origin: `http://${host}` }))).toBe(101);
    }
    expect(await rawRequest(port, `GET /schema.json HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`)).toBe(200);
    await s.close();
    const named = await start({ allowedHosts: ['bci.lab.example'] });
    expect(await rawRequest(named.address.port, upgrade('/', { Host: `bci.lab.example:${named.address.port}` }))).toBe(101);
    expect(await rawRequest(named.address.port, upgrade('/', { Host: `evil.example:${named.address.port}` }))).toBe(403);
  });

  it('defect 4: a short token is refused wherever it comes from; 127.1 and other loopback spellings are loopback', async () => {
    await expect(BciServer.start({ port: 0, token: 'x' }, hello)).rejects.toThrow(/token is 1 characters long; use at least 16/);
    for (const h of ['127.1', '127.0.0.1', '0x7f.1', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'evil.example', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
    expect(canonicalHost('127.1')).toBe('127.0.0.1');
    expect(await resolvesToLoopbackOnly('localhost')).toBe(true);
    expect(await resolvesToLoopbackOnly('0.0.0.0')).toBe(false);
    const s = await start({ host: '127.1' });
    expect(s.address.host).toBe('127.0.0.1');
    await expect(BciServer.start({ port: 0, host: '0.0.0.0' }, hello)).rejects.toThrow(/reachable from other machines/);

    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-token-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(demoConfig()));
    const child = spawn(process.execPath, [CLI, 'run', file], { env: { ...process.env, NEURORX_TOKEN: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/NEURORX_TOKEN\): the token is 1 characters long/);
  });

  it('defect 5: markers far in the future are refused and the marker queue is bounded', () => {
    const info = streamInfo(2, 100);
    const chunks = toChunks(info, new Float32Array(2 * 1000), 100);
    const inj = new MarkerInjector(16, 60);
    inj.inject(chunks[0]);
    expect(() => inj.push('far', 1e300)).toThrow(/marker time 1e\+300 s is more than 60 s ahead of the stream \(now at 0\.990 s\)/);
    for (let i = 0; i < 16; i++) inj.push(`m${i}`, 30);
    expect(() => inj.push('one-too-many', 30)).toThrow(/16 markers are already waiting .*\(at most 16\)/);
    expect(inj.queued).toBe(16);
    // Markers queued before the stream began are checked at the first chunk: the far one is discarded (and said), the rest kept.
    const said: string[] = [];
    const early = new MarkerInjector(16, 60, (why) => said.push(why));
    early.push('far', 1e300);
    early.push('near', 0.5);
    const out = early.inject(chunks[0]);
    expect(out.markers.map((m) => m.value)).toEqual(['near']);
    expect(early.queued).toBe(0);
    expect(said).toEqual([expect.stringMatching(/marker "far" at 1e\+300 s discarded: more than 60 s ahead/)]);
  });

  it('defect 5 through a session: a marker at 1e300 gets an error naming the limit, the session carries on', async () => {
    const { url } = await runCli(demoConfig());
    const { ws, messages } = await connect(url);
    await until(() => messages.some((m) => m.type === 'decision' || m.type === 'stats'), 60_000);
    ws.send(JSON.stringify({ type: 'marker', value: 'left', time: 1e300 }));
    await until(() => messages.some((m) => m.type === 'error'), 30_000);
    expect(messages.find((m) => m.type === 'error')!.message).toMatch(/more than 60 s ahead of the stream/);
    ws.close();
  });

  it('connections are bounded: beyond server.maxClients an upgrade gets 503, and a freed place is taken again', async () => {
    const s = await start({ maxClients: 2 });
    const a = await connect(s.address.url);
    const b = await connect(s.address.url);
    const host = { Host: `127.0.0.1:${s.address.port}` };
    expect(await rawRequest(s.address.port, upgrade('/', host))).toBe(503);
    a.ws.close();
    await until(() => s.clientCount === 1);
    expect(await rawRequest(s.address.port, upgrade('/', host))).toBe(101);
    b.ws.close();
  });

  it('defect 11: a port in use ends neurorx run with one clear line, no stack trace', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-port-'));
      const file = path.join(dir, 'config.json');
      writeFileSync(file, JSON.stringify(demoConfig({ server: { port } })));
      const child = spawn(process.execPath, [CLI, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr.on('data', (d) => (err += String(d)));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).toBe(1);
      expect(err).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use \\(set server\\.port\\)`));
      expect(err).not.toMatch(/Emitted 'error' event|at .*\.js:\d+|EADDRINUSE/);
    } finally {
      busy.close();
    }
  });
});

describe('hardening: config limits', () => {
  it('defect 12: window.length 1e9 is refused naming the field', () => {
    const cfg = demoConfig();
    (cfg.pipeline as Record<string, unknown>).window = { length: 1e9, hop: 0.25 };
    expect(() => parseConfig(cfg)).toThrow(/pipeline\.window\.length/);
  });

  it('defect 12: a 10 MB config is refused before it is parsed; so is one nested 100 deep', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-bigcfg-'));
    const big = path.join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ ...demoConfig(), name: 'x'.repeat(10 * 1024 * 1024) }));
    await expect(loadConfig(big)).rejects.toThrow(/config refused: .*big\.json: more than 1048576 bytes; at most 1048576 are read/);
    // A FIFO reports no size: the bound holds whatever stat says.
    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `head -c 3000000 /dev/zero | tr '\\\\0' ' ' > ${fifo}`]);
    children.push(writer);
    await expect(loadConfig(fifo)).rejects.toThrow(/fifo\.json: more than 1048576 bytes/);
    const deep = path.join(dir, 'deep.json');
    writeFileSync(deep, `{"name":${'['.repeat(100)}${']'.repeat(100)}}`);
    await expect(loadConfig(deep)).rejects.toThrow(/deep\.json: config refused: nesting deeper than 32 levels/);
  });
});
