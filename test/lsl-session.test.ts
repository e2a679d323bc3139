import { afterEach, describe, expect, it } from 'vitest';
import { LslInlet, resolveOne } from '../devices/lsl/inlet.js';
import { ChunkOutlet } from '../devices/lsl/lsl-sink.js';
import { propQuery } from '../devices/lsl/resolver.js';
import { openSource } from '../devices/open-source.js';
import { parseConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { testLslConfig } from './helpers/lsl.js';
import { until } from './helpers/ws-client.js';

const config = testLslConfig(2);
// openSource and the session read the LSL settings from the environment (this file's worker only).
Object.assign(process.env, {
  NEURORX_LSL_SCOPE: 'machine',
  NEURORX_LSL_MULTICAST_PORT: String(config.multicastPort),
  NEURORX_LSL_BASE_PORT: String(config.basePort),
});

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('a pipeline fed by LSL, publishing its decisions to LSL', () => {
  it('decodes a live LSL EEG stream with an LSL marker stream and sends decisions to an LSL inlet', async () => {
    // The "amplifier": simulated motor imagery published as LSL signal + markers outlets.
    const sim = await openSource('synthetic:motor-imagery?seed=9', { speed: 1, chunkSize: 8 });
    const amp = await ChunkOutlet.open(sim.info, 'sim-amp', { config });
    cleanup.push(() => amp.close());
    const feed = sim.chunks$.subscribe((c) => amp.push(c));
    cleanup.push(() => feed.unsubscribe());

    const session: Session = await startSession(
      parseConfig({
        source: { uri: 'lsl:name=sim-amp?markers=name=sim-amp-markers&timeout=5' },
        pipeline: { kind: 'motor-imagery', bandpass: { low: 8, high: 30 }, calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=1&trials=40' } },
        server: { port: 0 },
        lsl: { decisions: 'nx-decisions' },
      }),
    );
    cleanup.push(() => session.stop());
    expect(session.source.info.channels.map((c) => c.label)).toEqual(sim.info.channels.map((c) => c.label));

    const decisions = await resolveOne(propQuery('name', 'nx-decisions'), 10, config);
    const labels: string[] = [];
    const inlet = new LslInlet(
      decisions,
      (e) => {
        if (e.kind === 'samples') labels.push(...(e.batch.values as string[]));
      },
      { config },
    );
    cleanup.push(() => inlet.close());
    void inlet.run();
    // A second consumer of the same LSL source sees the cue markers merged into the chunks.
    const markers: { time: number; start: number; end: number; value: string }[] = [];
    const tap = session.source.chunks$.subscribe((c) => {
      for (const m of c.markers) markers.push({ time: m.time, start: c.time, end: c.timestamps![c.samples - 1], value: m.value });
    });
    cleanup.push(() => tap.unsubscribe());
    await until(() => labels.length >= 4 && markers.length >= 1, 20_000);
    for (const l of labels) expect(['left', 'right']).toContain(l);
    for (const m of markers) {
      expect(['left', 'right']).toContain(m.value);
      expect(m.time).toBeLessThanOrEqual(m.end + 1e-9); // never attached before its time has come
      expect(m.time).toBeGreaterThan(m.start - 0.5); // and not long after
    }
  }, 40_000);
});
