import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MODEL_BYTES, ModelStore } from '../src/bus/model-store.js';
import { SessionDirectory } from '../src/bus/session-directory.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';

describe.runIf(haveNatsServer())('saved models and wanted sessions in JetStream', () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('saves, replaces, loads and deletes a model (a lone server: 1 replica)', async () => {
    const store = await ModelStore.open(nc);
    expect(await store.load('lab-1')).toBeUndefined();
    const model = { kind: 'csp-lda', filters: Array.from({ length: 64 * 64 }, (_, i) => i / 7), classes: ['left', 'right'] };
    await store.save('lab-1', model);
    expect(await store.load('lab-1')).toEqual(model);
    await store.save('lab-1', { kind: 'csp-lda', filters: [1] });
    expect(await store.load('lab-1')).toEqual({ kind: 'csp-lda', filters: [1] });
    await store.delete('lab-1');
    expect(await store.load('lab-1')).toBeUndefined();
    await store.delete('lab-1');
    await expect(store.save('no.dots', {})).rejects.toThrow(/session id/);
  });

  it('refuses a model over the bound with a clear error', async () => {
    const store = await ModelStore.open(nc);
    expect(store.maxBytes).toBe(16 * 1024 * 1024);
    await expect(store.save('big', { weights: 'x'.repeat(MAX_MODEL_BYTES) })).rejects.toThrow(/the model of session big is 16\.0 MiB, more than the 16\.0 MiB/);
    const small = await ModelStore.open(nc, { maxBytes: 1000 });
    await store.save('medium', { weights: 'x'.repeat(2000) });
    await expect(small.load('medium')).rejects.toThrow(/saved model of session medium is .* more than/);
  });

  it('lists, watches and deletes wanted sessions', async () => {
    const dir = await SessionDirectory.open(nc);
    await dir.put('a', { name: 'a' });
    await dir.put('b', { name: 'b' });
    expect([...(await dir.list())].sort()).toEqual([
      ['a', { name: 'a' }],
      ['b', { name: 'b' }],
    ]);
    const seen: string[] = [];
    const w = await dir.watch((c) => seen.push(`${c.kind} ${c.id}`));
    await w.initialized;
    expect(seen.sort()).toEqual(['put a', 'put b']);
    await dir.delete('a');
    await dir.put('c', { name: 'c' });
    while (seen.length < 4) await new Promise((r) => setTimeout(r, 20));
    expect(seen.slice(2)).toEqual(['delete a', 'put c']);
    w.stop();
    expect(await dir.get('a')).toBeUndefined();
    expect(await dir.get('c')).toEqual({ name: 'c' });
    expect([...(await dir.list()).keys()].sort()).toEqual(['b', 'c']);
  });
});
