import { afterEach, describe, expect, it } from 'vitest';
import { BciServer } from '../src/server/ws-server.js';
import { connect, until } from './helpers/ws-client.js';
import { decisionMessage, helloMessage, messageJsonSchemas, type HelloMessage } from '../src/server/messages.js';

const hello = (): HelloMessage => ({
  type: 'hello',
  protocol: 1,
  server: 'neurorx test',
  pipeline: { kind: 'motor-imagery', name: 'test' },
  stream: { name: 's', type: 'EEG', sampleRate: 160, channels: ['C3', 'C4'] },
  state: 'running',
  classes: ['left', 'right'],
});

let server: BciServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('WebSocket server on loopback', () => {
  it('binds 127.0.0.1, greets with a valid hello, and delivers decisions in order', async () => {
    server = await BciServer.start({ port: 0 }, hello);
    expect(server.address.host).toBe('127.0.0.1');
    const { ws, messages } = await connect(server.address.url);
    await until(() => messages.length >= 1);
    expect(helloMessage.parse(messages[0])).toMatchObject({ type: 'hello', classes: ['left', 'right'] });
    for (let i = 0; i < 200; i++) {
      server.broadcast({ type: 'decision', seq: i, label: i % 2 ? 'left' : 'right', probabilities: { left: 0.3, right: 0.7 }, timestamp: i / 4, latencyMs: 0.1 });
    }
    await until(() => messages.length >= 201);
    const decisions = messages.slice(1).map((m) => decisionMessage.parse(m));
    expect(decisions.map((d) => d.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    ws.close();
  });

  it('answers malformed, invalid and binary messages with an error naming the problem, and stays up', async () => {
    server = await BciServer.start({ port: 0 }, hello);
    const { ws, messages } = await connect(server.address.url);
    ws.send('{not json');
    ws.send(JSON.stringify({ type: 'launch-missiles' }));
    ws.send(JSON.stringify({ type: 'ping', id: 7, extra: true }));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send(JSON.stringify({ type: 'ping', id: 8 }));
    await until(() => messages.length >= 6);
    const [, notJson, unknownType, extraKey, binary, pong] = messages;
    expect(notJson).toMatchObject({ type: 'error', message: expect.stringMatching(/not JSON/) });
    expect(unknownType).toMatchObject({ type: 'error', message: expect.stringMatching(/invalid message at "type"/) });
    expect(extraKey).toMatchObject({ type: 'error', message: expect.stringMatching(/extra/) });
    expect(binary).toMatchObject({ type: 'error', message: expect.stringMatching(/binary/) });
    expect(pong).toEqual({ type: 'pong', id: 8 });
    ws.close();
  });

  it('rejects an oversized frame by closing that client only (code 1009)', async () => {
    server = await BciServer.start({ port: 0, maxPayload: 1024 }, hello);
    const a = await connect(server.address.url);
    const b = await connect(server.address.url);
    const closed = new Promise<number>((r) => a.ws.once('close', (code) => r(code)));
    a.ws.send('x'.repeat(4096));
    expect(await closed).toBe(1009);
    server.broadcast({ type: 'status', state: 'running', detail: 'still here' });
    await until(() => b.messages.some((m) => m.detail === 'still here'));
    b.ws.close();
  });

  it('drops a stalled client without holding up the others', async () => {
    server = await BciServer.start({ port: 0, maxQueue: 64, maxInFlight: 16, stallTimeoutMs: 300 }, hello);
    const healthy = await connect(server.address.url);
    const stalled = await connect(server.address.url);
    await until(() => healthy.messages.length >= 1 && stalled.messages.length >= 1);
    // Stop reading: the TCP window fills and the server's writes stop completing.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const stalledClosed = new Promise<number>((r) => stalled.ws.once('close', (code) => r(code)));
    const padding = 'x'.repeat(64 * 1024);
    const total = 400;
    for (let i = 0; i < total; i++) {
      server.broadcast({ type: 'status', state: 'running', detail: `${i} ${padding}` });
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => healthy.messages.length >= total + 1, 20_000);
    const seen = healthy.messages.slice(1).map((m) => Number(String(m.detail).split(' ')[0]));
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await stalledClosed).toBe(1008);
    await until(() => server!.clientCount === 1);
    healthy.ws.close();
  });

  it('serves the dashboard page and the JSON Schemas', async () => {
    server = await BciServer.start({ port: 0 }, hello);
    const base = `http://127.0.0.1:${server.address.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>neurorx</title>');
    const schema = (await (await fetch(`${base}/schema.json`)).json()) as ReturnType<typeof messageJsonSchemas>;
    const decision = (schema.serverToClient as Record<string, { required: string[] }>).decision;
    expect(decision.required).toEqual(expect.arrayContaining(['type', 'label', 'probabilities', 'timestamp']));
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
