import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config/config-schema.js';
import { startHostServer, type HostServer } from '../src/host/host-server.js';
import { InProcessSessions } from '../src/host/in-process-sessions.js';
import { pageServer } from '../src/client/page-server.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { connect, handshake, until, type Message } from './helpers/ws-client.js';

const TOKEN = 'a-host-token-of-24-chars';

async function demoConfig(name: string, seed: number): Promise<Config> {
  const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
  config.name = name;
  config.source.uri = `synthetic:motor-imagery?seed=${seed}`;
  config.source.replay = { speed: 2, chunkSize: 16, loop: false };
  return config;
}

/** A raw HTTP request (headers as given: an Origin too); resolves with the status, headers and body. */
function request(
  port: number,
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const postJson = (port: number, body: unknown, headers: Record<string, string> = {}) =>
  request(port, 'POST', '/api/sessions', { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const ofType = (messages: Message[], type: string): Message[] => messages.filter((m) => m.type === type);

describe('one server for many sessions', () => {
  let host: HostServer;
  let port: number;
  const directory = new InProcessSessions();
  beforeAll(async () => {
    host = await startHostServer(directory, { port: 0 });
    port = host.server.address.port;
    await host.sessions.create('alpha', await demoConfig('alpha demo', 3));
    await host.sessions.create('beta', await demoConfig('beta demo', 4));
  });
  afterAll(async () => {
    await host?.close();
  });

  it('each client gets its own session: hello, decisions; control reaches only that session', async () => {
    const a = await connect(`ws://127.0.0.1:${port}/sessions/alpha`);
    const b = await connect(`ws://127.0.0.1:${port}/sessions/beta`);
    await until(() => a.messages.length > 0 && b.messages.length > 0);
    expect(a.messages[0]).toMatchObject({ type: 'hello', pipeline: { name: 'alpha demo' } });
    expect(b.messages[0]).toMatchObject({ type: 'hello', pipeline: { name: 'beta demo' } });
    expect(ofType(a.messages, 'hello')).toHaveLength(1);
    await until(() => ofType(a.messages, 'decision').length > 2 && ofType(b.messages, 'decision').length > 2, 60_000);

    // Pausing alpha stops alpha's decisions only: beta's client still gets its own, and never hears alpha's pause.
    a.ws.send(JSON.stringify({ type: 'pause' }));
    await until(() => a.messages.some((m) => m.type === 'status' && m.state === 'paused'));
    const aDecisions = ofType(a.messages, 'decision').length;
    const bDecisions = ofType(b.messages, 'decision').length;
    await until(() => ofType(b.messages, 'decision').length > bDecisions + 3, 30_000);
    expect(ofType(a.messages, 'decision').length).toBe(aDecisions);
    expect(b.messages.some((m) => m.type === 'status' && m.state === 'paused')).toBe(false);
    expect(directory.get('alpha')!.state).toBe('paused');
    expect(directory.get('beta')!.state).toBe('running');

    // A refusal from the session comes back to that client as an error.
    b.ws.send(JSON.stringify({ type: 'marker', value: 'left', time: 1e300 }));
    await until(() => ofType(b.messages, 'error').length > 0);
    expect(ofType(b.messages, 'error')[0].message).toMatch(/more than 60 s ahead/);
    expect(ofType(a.messages, 'error')).toHaveLength(0);
    a.ws.send(JSON.stringify({ type: 'resume' }));
    a.ws.close();
    b.ws.close();
  });

  it('an unknown session is refused naming it, on WebSocket and HTTP; other paths are refused too', async () => {
    const refused = await handshake(`ws://127.0.0.1:${port}/sessions/gamma`);
    expect(refused.status).toBe(404);
    expect(refused.body).toMatch(/no session "gamma"/);
    expect((await handshake(`ws://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await handshake(`ws://127.0.0.1:${port}/sessions/alpha/x`)).status).toBe(404);
    const page = await request(port, 'GET', '/sessions/gamma/');
    expect(page.status).toBe(404);
    expect(page.body).toMatch(/no session "gamma"/);
  });

  it("serves a session's dashboard at /sessions/<id>/ (its assets at the root), and the overview at /", async () => {
    const page = await request(port, 'GET', '/sessions/alpha/');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<title>neurorx dashboard<\/title>/);
    for (const asset of page.body.matchAll(/(?:href|src)="(\/[^"]+)"/g)) expect((await request(port, 'GET', asset[1])).status, asset[1]).toBe(200);
    const bare = await request(port, 'GET', '/sessions/alpha?token=x');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/sessions/alpha/?token=x');
    const overview = await request(port, 'GET', '/');
    expect(overview.status).toBe(200);
    expect(overview.body).toMatch(/<title>neurorx sessions<\/title>/);
    // The dashboard served there connects to its own session; served at / to the only one.
    expect(pageServer({ protocol: 'http:', host: `127.0.0.1:${port}`, search: '?token=t', pathname: '/sessions/alpha/' })).toEqual({ url: `ws://127.0.0.1:${port}/sessions/alpha`, token: 't' });
    expect(pageServer({ protocol: 'https:', host: 'h', search: '', pathname: '/' })).toEqual({ url: 'wss://h/' });
  });

  it('the API: create (201), invalid config (400 naming the field), duplicate (409), list, delete (204: its clients closed with a reason)', async () => {
    const config = JSON.parse(JSON.stringify(await demoConfig('gamma demo', 5))) as Record<string, unknown>;
    const created = await postJson(port, { id: 'gamma', config });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toEqual({ id: 'gamma', url: '/sessions/gamma' });

    const bad = await postJson(port, { config: { ...config, pipeline: { ...(config.pipeline as object), window: { length: 1e9, hop: 0.25 } } } });
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.body) as { error: string }).error).toMatch(/pipeline\.window\.length/);
    const badId = await postJson(port, { id: 'a.b', config });
    expect(badId.status).toBe(400);
    expect(badId.body).toMatch(/id \\"a\.b\\"/);
    expect((await postJson(port, { id: 'gamma', config })).status).toBe(409);
    expect((await request(port, 'POST', '/api/sessions', { headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await request(port, 'POST', '/api/sessions', { headers: { 'content-type': 'application/json' }, body: `{"config":"${'x'.repeat(300 * 1024)}"}` })).status).toBe(413);

    const list = JSON.parse((await request(port, 'GET', '/api/sessions')).body) as { id: string; name: string; kind: string }[];
    expect(list.map((s) => s.id).sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(list.find((s) => s.id === 'gamma')).toMatchObject({ name: 'gamma demo', kind: 'motor-imagery' });

    // Without an id, one is made from the name.
    const named = await postJson(port, { config: { ...config, name: 'Rig 2: left/right' } });
    expect(named.status).toBe(201);
    const namedId = (JSON.parse(named.body) as { id: string }).id;
    expect(namedId).toMatch(/^rig-2-left-right-[0-9a-f]{6}$/);
    expect((await request(port, 'DELETE', `/api/sessions/${namedId}`)).status).toBe(204);

    const client = await connect(`ws://127.0.0.1:${port}/sessions/gamma`);
    await until(() => client.messages.length > 0);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await until(() => host.server.clientsOf('gamma') === 1);
    expect((JSON.parse((await request(port, 'GET', '/api/sessions/gamma')).body) as { clients: number }).clients).toBe(1);
    expect((await request(port, 'DELETE', '/api/sessions/gamma')).status).toBe(204);
    expect(await closed).toEqual({ code: 1001, reason: 'session "gamma" was stopped' });
    expect((await request(port, 'DELETE', '/api/sessions/gamma')).status).toBe(404);
    expect((await handshake(`ws://127.0.0.1:${port}/sessions/gamma`)).status).toBe(404);
    expect(directory.get('gamma')).toBeUndefined();
  });

  it('a page of another origin may not create or stop sessions (CSRF); the server’s own origin may', async () => {
    const evil = await postJson(port, { config: {} }, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect((await request(port, 'DELETE', '/api/sessions/beta', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect(directory.get('beta')).toBeDefined();
    const own = await postJson(port, { config: {} }, { origin: `http://127.0.0.1:${port}` });
    expect(own.status).toBe(400);
  });
});

describe('a host bound off loopback', () => {
  it('refuses to start without a token, and then requires it on the API and on WebSockets', async () => {
    await expect(startHostServer(new InProcessSessions(), { port: 0, host: '0.0.0.0' })).rejects.toThrow(/0\.0\.0\.0 is reachable from other machines: set server\.token/);
    const directory = new InProcessSessions();
    const host = await startHostServer(directory, { port: 0, host: '0.0.0.0', token: TOKEN });
    try {
      const port = host.server.address.port;
      await host.sessions.create('alpha', await demoConfig('alpha demo', 3));
      expect((await request(port, 'GET', '/api/sessions')).status).toBe(401);
      expect((await request(port, 'GET', '/api/sessions?token=wrong-token-wrong-token')).status).toBe(401);
      expect((await postJson(port, { config: {} })).status).toBe(401);
      expect((await request(port, 'DELETE', '/api/sessions/alpha')).status).toBe(401);
      expect((await request(port, 'GET', '/api/sessions', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await request(port, 'GET', `/api/sessions?token=${TOKEN}`)).status).toBe(200);
      expect((await handshake(`ws://127.0.0.1:${port}/sessions/alpha`)).status).toBe(401);
      // Unknown ids are not told apart from known ones without the token.
      expect((await handshake(`ws://127.0.0.1:${port}/sessions/nope`)).status).toBe(401);
      expect((await handshake(`ws://127.0.0.1:${port}/sessions/alpha?token=${TOKEN}`)).status).toBe(101);
    } finally {
      await host.close();
    }
  });
});
