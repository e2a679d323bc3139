import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, configSchema, parseConfig } from '../../src/config/config-schema.js';
import { clientMessage, parseClientMessage } from '../../src/server/messages.js';
import { BciServer } from '../../src/server/ws-server.js';
import { PROJECT_ROOT } from '../helpers/data.js';
import { FUZZ_TIMEOUT_MS, fuzzParams } from '../helpers/fuzz.js';
import { connect, until, type Message } from '../helpers/ws-client.js';

/** Valid client messages, the seeds that mutations start from. */
const validMessages: unknown[] = [
  { type: 'ping', id: 1 },
  { v: 2, type: 'subscribe', topics: ['signal', 'decision'] },
  { type: 'unsubscribe', topics: ['cue'] },
  { type: 'marker', value: 'left', time: 12.5 },
  { type: 'calibration', action: 'start', trialsPerClass: 10 },
  { type: 'pause' },
  { type: 'resume' },
];

/** A JSON value with one leaf (or the whole) replaced by an arbitrary JSON value. */
function mutatedJson(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.jsonValue({ maxDepth: 4 })).map(([seed, pick, replacement]) => {
    const copy = structuredClone(seed) as Record<string, unknown>;
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]): void => {
      paths.push(p);
      if (v && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, [...p, Array.isArray(v) ? Number(k) : k]);
    };
    walk(copy, []);
    const at = paths[pick % paths.length];
    if (at.length === 0) return replacement;
    let parent: Record<string, unknown> = copy;
    // every path's steps but the last lead to an object or an array (walk descends only into those)
    for (const k of at.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
    parent[at[at.length - 1]] = replacement;
    return copy;
  });
}

describe('fuzz: WebSocket protocol messages', () => {
  it(
    'parseClientMessage returns a valid message or an error naming the problem, for any text',
    () => {
      const text = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
        mutatedJson(validMessages).map((v) => JSON.stringify(v)),
        fc.integer({ min: 1, max: 20_000 }).map((d) => `{"type":"ping","id":${'['.repeat(d)}${']'.repeat(d)}}`),
      );
      fc.assert(
        fc.property(text, (raw) => {
          const out = parseClientMessage(raw);
          if (out.type === 'error') expect(out.message.length).toBeGreaterThan(0);
          else expect(clientMessage.safeParse(out).success).toBe(true);
        }),
        fuzzParams(2000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  describe('a live server', () => {
    let server: BciServer;
    const handled: unknown[] = [];
    beforeAll(async () => {
      server = await BciServer.start(
        {
          port: 0,
          rateLimit: { perSecond: 1e6, burst: 1e6 },
          onClientMessage: (m) => {
            handled.push(m);
            if (m.type === 'marker' && m.value === 'boom') throw new Error('handler refused it');
          },
        },
        () => ({ type: 'hello', protocol: 2, server: 'fuzz', pipeline: { kind: 'k', name: 'n' }, stream: { name: 's', type: 'EEG', sampleRate: 100, channels: ['a'] }, state: 'running' }),
      );
    });
    afterAll(() => server.close());

    it(
      'answers every frame (error or effect) and keeps serving, for any sequence of text and binary frames',
      async () => {
        const frame = fc.oneof(
          fc.string({ maxLength: 200 }).map((s) => ({ text: s })),
          mutatedJson([...validMessages, { type: 'marker', value: 'boom' }]).map((v) => ({ text: JSON.stringify(v) })),
          fc.uint8Array({ maxLength: 64 }).map((b) => ({ binary: b })),
        );
        await fc.assert(
          fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), async (frames) => {
            const { ws, messages } = await connect(server.address.url);
            try {
              for (const f of frames) {
                if ('binary' in f) ws.send(f.binary, { binary: true });
                else ws.send(f.text);
              }
              ws.send(JSON.stringify({ type: 'ping', id: 'end' }));
              await until(() => messages.some((m: Message) => m.type === 'pong' && m.id === 'end'), 20_000);
            } finally {
              ws.close();
            }
          }),
          fuzzParams(60),
        );
        // Still serving a fresh client.
        const { ws, messages } = await connect(server.address.url);
        await until(() => messages.length >= 1);
        expect(messages[0].type).toBe('hello');
        ws.close();
      },
      FUZZ_TIMEOUT_MS,
    );
  });
});

describe('fuzz: configs', () => {
  const shipped = ['default.json', 'emotion.json', 'meg.json'].map((f) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'config', f), 'utf8')) as unknown);

  it(
    'parseConfig accepts or throws a ConfigError naming a field, for any mutation of the shipped configs',
    () => {
      fc.assert(
        fc.property(mutatedJson(shipped), (json) => {
          try {
            parseConfig(json);
          } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
            // "config: invalid config" then one "path: reason" line per problem.
            expect((e as Error).message).toMatch(/^config: invalid config\n {2}\S.*: /);
          }
        }),
        fuzzParams(1500),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('every number in the config schema has a range (so no field can ask for an absurd allocation)', () => {
    const unbounded: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if ((n.type === 'number' || n.type === 'integer') && !('maximum' in n || 'exclusiveMaximum' in n || 'const' in n || 'enum' in n)) unbounded.push(`${where} (no maximum)`);
      if ((n.type === 'number' || n.type === 'integer') && !('minimum' in n || 'exclusiveMinimum' in n || 'const' in n || 'enum' in n)) unbounded.push(`${where} (no minimum)`);
      for (const [k, v] of Object.entries(n)) walk(v, k === 'properties' || k === 'anyOf' || k === 'oneOf' || k === 'items' ? where : `${where}.${k}`);
    };
    walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), 'config');
    expect(unbounded).toEqual([]);
  });
});
