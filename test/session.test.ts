import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { connect, until } from './helpers/ws-client.js';

let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

describe('a session end to end: source -> pipeline -> WebSocket client on loopback', () => {
  it('the shipped default config (npm start) serves decisions within 20 s, in real time', async () => {
    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.filter((m) => m.type === 'decision').length >= 3, 20_000);
    ws.close();

    const hello = messages[0];
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, pipeline: { kind: 'motor-imagery' }, stream: { sampleRate: 160 } });
    const decisions = messages.filter((m) => m.type === 'decision');
    for (const d of decisions) {
      expect(['left', 'right']).toContain(d.label);
      const p = d.probabilities as Record<string, number>;
      expect(p.left + p.right).toBeCloseTo(1, 6);
      expect(d.latencyMs).toBeGreaterThanOrEqual(0);
    }
    // one decision per 0.25 s hop, stamped with the window's last sample on the stream clock
    const times = decisions.map((d) => d.timestamp as number);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeCloseTo(0.25, 6);
    expect(times[0]).toBeGreaterThanOrEqual(2 - 1 / 160 - 1e-9);
  }, 30_000);

  it('calibrates on the first cued trials of the live stream, then decodes the following trials above chance', async () => {
    const config = parseConfig({
      source: { uri: 'synthetic:motor-imagery?seed=3', replay: { speed: 'max', chunkSize: 16 } },
      pipeline: { kind: 'motor-imagery', bandpass: { low: 8, high: 30 }, calibration: { from: 'stream', trialsPerClass: 15 } },
      server: { port: 0 },
    });
    const decisions: { label: string; timestamp: number }[] = [];
    const cues: { time: number; value: string }[] = [];
    const statuses: string[] = [];
    session = await startSession(config, {
      onEvent: (e) => {
        if (e.kind === 'decision') decisions.push({ label: e.decision.label, timestamp: e.decision.timestamp });
        else statuses.push(e.state);
      },
    });
    await until(() => decisions.length >= 1500, 60_000);
    await session.stop();
    session = undefined;

    expect(statuses[0]).toBe('calibrating');
    expect(statuses).toContain('running');
    // Score with a second, independent replay of the same seeded stream's cue markers.
    const { MotorImagerySimulator } = await import('../devices/synthetic/motor-imagery.js');
    const sim = new MotorImagerySimulator({ seed: 3 });
    const lastTime = decisions[decisions.length - 1].timestamp;
    for (let t = 0; t <= lastTime * 160; t += 1600) cues.push(...sim.next(1600).markers);
    // a window ending 2.5-4 s after a cue lies inside that trial's imagery
    let right = 0;
    let scored = 0;
    for (const d of decisions) {
      const cue = [...cues].reverse().find((c) => c.time <= d.timestamp);
      if (!cue || d.timestamp - cue.time < 2.5 || d.timestamp - cue.time > 4) continue;
      scored++;
      if (d.label === cue.value) right++;
    }
    expect(scored).toBeGreaterThan(100);
    expect(right / scored).toBeGreaterThan(0.75);
  }, 90_000);
});
