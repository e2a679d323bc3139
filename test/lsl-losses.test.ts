import net from 'node:net';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { LslInlet, resolveOne } from '../devices/lsl/inlet.js';
import { localClock } from '../devices/lsl/lsl-clock.js';
import { lslConfigFromEnv, type LslConfig } from '../devices/lsl/lsl-config.js';
import { openLslSource } from '../devices/lsl/lsl-source.js';
import { LslOutlet } from '../devices/lsl/outlet.js';
import { propQuery } from '../devices/lsl/resolver.js';
import { parseSourceUri } from '../devices/source-uri.js';
import type { Loss } from '../src/stream/losses.js';
import type { Chunk } from '../src/stream/types.js';
import { testLslConfig } from './helpers/lsl.js';
import { until } from './helpers/ws-client.js';

const config = testLslConfig(3);
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function outlet(name: string, sourceId: string, cfg: LslConfig = config): Promise<LslOutlet> {
  const o = await LslOutlet.open({ name, type: 'EEG', channelCount: 1, channelFormat: 'float32', nominalSrate: 100, sourceId, config: cfg });
  cleanup.push(() => o.close());
  return o;
}

/** Pushes samples `from`..`to`-1: value k, stamped `t0 + k / 100`. */
function push(o: LslOutlet, t0: number, from: number, to: number): void {
  const values = Float32Array.from({ length: to - from }, (_, i) => from + i);
  o.push(
    values,
    Array.from(values, (k) => t0 + k / 100),
  );
}

async function source(target: string): Promise<{ chunks: Chunk[]; losses: Loss[]; received: () => number }> {
  const src = await openLslSource(parseSourceUri(`lsl:${target}?timeout=5`), config);
  const chunks: Chunk[] = [];
  const losses: Loss[] = [];
  const feed = src.losses.losses$.subscribe((l) => losses.push(l));
  const sub = src.chunks$.subscribe((c) => chunks.push(c));
  cleanup.push(
    () => sub.unsubscribe(),
    () => feed.unsubscribe(),
  );
  return { chunks, losses, received: () => chunks.reduce((s, c) => s + c.samples, 0) };
}

const gaps = (losses: Loss[]): Extract<Loss, { kind: 'gap' }>[] => losses.filter((l): l is Extract<Loss, { kind: 'gap' }> => l.kind === 'gap');
const warned = (losses: Loss[], re: RegExp): boolean => losses.some((l) => l.kind === 'warning' && re.test(l.message));
/** Every sample's value is its index: the numbering skipped exactly what was missed. */
const misnumbered = (chunks: Chunk[]): number => chunks.reduce((bad, c) => bad + Array.from(c.data).filter((v, s) => v !== c.firstSample + s).length, 0);

describe('LSL losses: what an inlet reports when its outlet goes away or falls silent', () => {
  it('regression: an outlet gone for 7 s of stream is reported when it vanishes, and its 700 samples when it returns', async () => {
    const t0 = localClock();
    const a = await outlet('gap', 'gap-1');
    const { chunks, losses, received } = await source('source_id=gap-1');
    await until(() => a.consumers === 1, 20_000);
    push(a, t0, 0, 100);
    await until(() => received() === 100, 20_000);
    await a.close();
    await until(() => warned(losses, /^LSL stream "gap": outlet at 127\.0\.0\.1:\d+ unreachable \(.*\), no samples since t=0\.99 s; resolving it again$/), 20_000);
    expect(gaps(losses)).toEqual([]);
    const b = await outlet('gap', 'gap-1'); // the amplifier's program restarted: a new outlet, same source_id
    await until(() => b.consumers === 1, 20_000);
    push(b, t0, 800, 900);
    await until(() => received() === 200, 20_000);
    const [gap, ...more] = gaps(losses);
    expect(more).toEqual([]);
    expect(gap).toMatchObject({ samples: 700, seconds: 7, cause: `LSL outlet unreachable (reconnected to "gap" on ${os.hostname()})` });
    const last = chunks.find((c) => c.firstSample + c.samples === 100)!;
    expect(gap.time).toBeCloseTo(last.timestamps![last.samples - 1] + 0.01, 6);
    expect(chunks.find((c) => c.data[0] === 800)?.firstSample).toBe(800);
    expect(misnumbered(chunks)).toBe(0);
  }, 90_000);

  it('regression: a restarted outlet whose clock is behind the old one is read, not muted, and the gap measured by the time without samples', async () => {
    const t0 = localClock();
    const a = await outlet('behind', 'behind-1');
    const { chunks, losses, received } = await source('source_id=behind-1');
    await until(() => a.consumers === 1, 20_000);
    push(a, t0, 0, 50);
    await until(() => received() === 50, 20_000);
    await a.close();
    const b = await outlet('behind', 'behind-1');
    await until(() => b.consumers === 1, 20_000);
    push(b, t0 - 500, 0, 50); // stamped 500 s before anything the old outlet sent
    await until(() => received() === 100, 20_000);
    const [gap] = gaps(losses);
    expect(gap.samples).toBeGreaterThan(0);
    expect(gap.cause).toMatch(/^LSL outlet unreachable \(reconnected to "behind" on .*\); length from the time without samples, the timestamps do not line up$/);
    const resumed = chunks.find((c) => c.firstSample >= 50)!;
    expect(resumed.firstSample).toBe(50 + gap.samples);
    expect(resumed.data[0]).toBe(0);
  }, 90_000);

  it('reports a stream that falls silent while connected, then the samples it skipped', async () => {
    const t0 = localClock();
    const o = await outlet('quiet', 'quiet-1');
    const { chunks, losses, received } = await source('source_id=quiet-1');
    await until(() => o.consumers === 1, 20_000);
    push(o, t0, 0, 50);
    await until(() => received() === 50, 20_000);
    await until(() => warned(losses, /^LSL stream "quiet": silent since t=0\.49 s \(no samples for \d+\.\d s\)$/), 20_000);
    push(o, t0, 350, 400);
    await until(() => received() === 100, 20_000);
    expect(gaps(losses).map((g) => [g.samples, g.cause])).toEqual([[300, 'LSL stream "quiet" silent']]);
    expect(chunks.at(-1)!.firstSample + chunks.at(-1)!.samples).toBe(400);
    expect(misnumbered(chunks)).toBe(0);
    expect(warned(losses, /unreachable/)).toBe(false);
  }, 90_000);
});

describe('LSL bound to loopback', () => {
  it('reads NEURORX_LSL_BIND', () => {
    expect(lslConfigFromEnv(undefined, { NEURORX_LSL_BIND: 'loopback' }).bind).toBe('loopback');
    expect(lslConfigFromEnv(undefined, {}).bind).toBe('any');
    expect(() => lslConfigFromEnv(undefined, { NEURORX_LSL_BIND: 'lan' })).toThrow('NEURORX_LSL_BIND="lan": expected any or loopback');
  });

  it('listens on 127.0.0.1 only, and a loopback inlet (site scope, no peers) still finds and reads it', async () => {
    const loopback: LslConfig = { ...config, bind: 'loopback' };
    const lo = await outlet('lo-only', 'lo-1', loopback);
    const any = await outlet('everywhere', 'any-1');
    const { tcp, service, responder } = lo.endpoints;
    for (const e of [tcp, service, responder]) expect(e).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(any.endpoints.tcp).toMatch(/^0\.0\.0\.0:\d+$/);
    const lan = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (lan) {
      const connect = (port: number): Promise<string> =>
        new Promise((resolve) => {
          const s = net.connect(port, lan);
          s.on('connect', () => (s.destroy(), resolve('connected')));
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
      expect(await connect(lo.info.v4dataPort)).toBe('ECONNREFUSED');
      expect(await connect(any.info.v4dataPort)).toBe('connected');
    }
    const inletConfig: LslConfig = { ...loopback, scope: 'site', knownPeers: [] };
    const found = await resolveOne(propQuery('name', 'lo-only'), 5, inletConfig);
    expect(found.v4address).toBe('127.0.0.1');
    const got: number[] = [];
    const inlet = new LslInlet(found, (e) => e.kind === 'samples' && got.push(...(e.batch.values as Float32Array)), { config: inletConfig });
    cleanup.push(() => inlet.close());
    void inlet.run();
    await until(() => lo.consumers === 1, 20_000);
    push(lo, localClock(), 0, 20);
    await until(() => got.length === 20, 20_000);
    expect(got).toEqual(Array.from({ length: 20 }, (_, k) => k));
  }, 90_000);
});
