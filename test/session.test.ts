import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import type { PipelineEvent } from '../pipelines/motor-imagery/pipeline.js';
import type { ControlledDecision } from '../src/control/controlled-decisions.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { PROJECT_ROOT } from './helpers/data.js';
import { connect, until } from './helpers/ws-client.js';
import { like } from './helpers/like.js';

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
    expect(hello).toMatchObject({ v: 2, type: 'hello', protocol: 2, pipeline: { kind: 'motor-imagery' }, stream: { sampleRate: 160 } });
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
        else if (e.kind === 'status') statuses.push(e.state);
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

  it('turns decisions into few commands that follow the cues (control stage), sent over WebSocket', async () => {
    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    config.source.replay = { speed: 20, chunkSize: 16, loop: false };
    const events: PipelineEvent[] = [];
    session = await startSession(config, { onEvent: (e) => e.kind !== 'emotion' && e.kind !== 'retrieval' && events.push(e) });
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.filter((m) => m.type === 'command').length >= 12, 40_000);
    ws.close();
    const decisions = events.flatMap((e) => (e.kind === 'decision' ? [e.decision as ControlledDecision] : []));
    const cues = events.flatMap((e) => (e.kind === 'cue' ? [e] : []));
    const fired = decisions.filter((d) => d.command !== undefined);
    expect(fired.length).toBeGreaterThanOrEqual(12);
    // Far fewer commands than decisions, never two within the refractory period (1 s of stream time).
    expect(fired.length).toBeLessThan(decisions.length / 5);
    for (let i = 1; i < fired.length; i++) expect(fired[i].timestamp - fired[i - 1].timestamp).toBeGreaterThanOrEqual(1 - 1e-9);
    // A command fired during a trial is that trial's class (the default maps left -> "left", right -> "right").
    let scored = 0;
    let right = 0;
    for (const d of fired) {
      const cue = [...cues].reverse().find((c) => c.time <= d.timestamp);
      if (!cue || d.timestamp - cue.time > 4.5) continue;
      scored++;
      if (d.command === cue.label) right++;
    }
    expect(scored).toBeGreaterThanOrEqual(8);
    expect(right / scored).toBeGreaterThanOrEqual(0.8);
    // The same commands reached the WebSocket client as "command" messages, decisions carry the gate state.
    const commandMessages = messages.filter((m) => m.type === 'command');
    expect(commandMessages[0]).toMatchObject({ type: 'command', command: like.stringMatching(/^(left|right)$/) });
    const decisionMessage = messages.find((m) => m.type === 'decision');
    expect(decisionMessage).toMatchObject({ state: like.stringMatching(/^(rest|dwelling|fired|refractory)$/), smoothed: like.any(Object) });
    expect(messages.some((m) => m.type === 'cue')).toBe(true);
  }, 60_000);

  it('takes cue markers from a WebSocket client into the stream (a game running the calibration)', async () => {
    const config = parseConfig({
      source: { uri: 'synthetic:motor-imagery?seed=3', replay: { speed: 1, chunkSize: 16 } },
      pipeline: {
        kind: 'motor-imagery',
        events: { 'game-left': 'left', 'game-right': 'right' },
        calibration: { from: 'recording', source: 'synthetic:motor-imagery?seed=1&trials=20' },
      },
      server: { port: 0 },
    });
    // The recording used for calibration has "left"/"right" markers: map them too for training.
    if (config.pipeline.kind !== 'motor-imagery') throw new Error('a motor-imagery config');
    config.pipeline.events = { ...config.pipeline.events, left: 'left', right: 'right' };
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.some((m) => m.type === 'decision'), 20_000);
    ws.send(JSON.stringify({ type: 'marker', value: 'game-right' }));
    await until(() => messages.some((m) => m.type === 'cue' && m.marker === 'game-right'), 5_000);
    const cue = messages.find((m) => m.type === 'cue' && m.marker === 'game-right')!;
    expect(cue.label).toBe('right');
    const lastDecision = messages.filter((m) => m.type === 'decision').at(-1)!;
    expect(cue.timestamp as number).toBeGreaterThanOrEqual((lastDecision.timestamp as number) - 0.5);
    ws.send(JSON.stringify({ type: 'marker', value: '' }));
    await until(() => messages.some((m) => m.type === 'error'), 5_000);
    expect(messages.find((m) => m.type === 'error')).toMatchObject({ path: 'value' });
    ws.close();
  }, 40_000);

  it("calibrates with neurorx's own cue generator, then retrains as more cued trials arrive", async () => {
    const config = parseConfig({
      source: { uri: 'synthetic:motor-imagery?seed=3', replay: { speed: 'max', chunkSize: 32 } },
      pipeline: {
        kind: 'motor-imagery',
        // Generated cues carry these marker values; the synthetic stream's own "left"/"right" are not mapped.
        events: { 'cue-left': 'left', 'cue-right': 'right' },
        decoder: { kind: 'mdm' },
        calibration: { from: 'stream', trialsPerClass: 4, cues: 'generator', generator: { leadIn: 2, trialSeconds: 6, jitter: 0, seed: 9 } },
      },
      server: { port: 0 },
    });
    const events: PipelineEvent[] = [];
    session = await startSession(config, { onEvent: (e) => e.kind !== 'emotion' && e.kind !== 'retrieval' && events.push(e) });
    await until(() => events.some((e) => e.kind === 'status' && e.state === 'running'), 30_000);
    await session.stop();
    session = undefined;
    const cues = events.flatMap((e) => (e.kind === 'cue' ? [e] : []));
    // Cues at 2, 8, 14, ... s of stream time, four of each class, shuffled within blocks of two.
    expect(cues.slice(0, 8).map((c) => c.time)).toEqual([2, 8, 14, 20, 26, 32, 38, 44]);
    for (let b = 0; b < 4; b++)
      expect(
        cues
          .slice(2 * b, 2 * b + 2)
          .map((c) => c.label)
          .sort(),
      ).toEqual(['left', 'right']);
    const trials = events.flatMap((e) => (e.kind === 'status' && e.trials ? [e.trials] : []));
    expect(trials.at(-1)).toEqual({ left: 4, right: 4 });
    expect(events.find((e) => e.kind === 'status' && e.state === 'running')).toMatchObject({ classes: ['left', 'right'] });

    // Supervised retraining on the synthetic stream's own cues: every 6 new trials.
    const retrain = parseConfig({
      source: { uri: 'synthetic:motor-imagery?seed=4', replay: { speed: 'max', chunkSize: 32 } },
      pipeline: { kind: 'motor-imagery', calibration: { from: 'stream', trialsPerClass: 5, retrainEvery: 6 } },
      server: { port: 0 },
    });
    const later: PipelineEvent[] = [];
    session = await startSession(retrain, { onEvent: (e) => e.kind !== 'emotion' && e.kind !== 'retrieval' && later.push(e) });
    await until(() => later.filter((e) => e.kind === 'status' && /^retrained/.test(e.detail)).length >= 2, 40_000);
    const details = later.flatMap((e) => (e.kind === 'status' && /^retrained/.test(e.detail) ? [e.detail] : []));
    expect(details.slice(0, 2)).toEqual(['retrained on 16 trials', 'retrained on 22 trials']);
  }, 90_000);

  it('is steered by clients: signal frames and stats on subscription, pause and resume, calibration started and stopped', async () => {
    const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
    config.server.port = 0;
    config.source.replay = { speed: 4, chunkSize: 16, loop: false };
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['signal'] }));
    const count = (type: string, from = 0) => messages.slice(from).filter((m) => m.type === type).length;
    await until(() => count('signal') >= 5 && count('spectrum') >= 1 && count('stats') >= 1 && count('decision') >= 3, 20_000);
    const frame = messages.find((m) => m.type === 'signal')!;
    expect(frame).toMatchObject({ v: 2, rate: 160, channels: like.arrayContaining(['C3', 'C4']) });
    expect((frame.data as number[][]).length).toBe(19);
    expect(messages.find((m) => m.type === 'stats')).toMatchObject({ samplesDropped: 0, messagesDropped: 0, clients: 1 });

    ws.send(JSON.stringify({ type: 'pause' }));
    await until(() => messages.some((m) => m.type === 'status' && m.state === 'paused'));
    expect(session.state).toBe('paused');
    const pausedAt = messages.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(count('decision', pausedAt + 1)).toBe(0);
    expect(count('signal', pausedAt)).toBeGreaterThan(0);
    ws.send(JSON.stringify({ type: 'resume' }));
    await until(() => count('decision', pausedAt) >= 2, 5_000);

    // Calibrate anew from the live stream's cues: 3 trials per class (~25 s of stream at 4x).
    const before = messages.length;
    ws.send(JSON.stringify({ type: 'calibration', action: 'start', trialsPerClass: 3 }));
    await until(() => messages.slice(before).some((m) => m.type === 'status' && m.state === 'calibrating'), 5_000);
    await until(() => messages.slice(before).some((m) => m.type === 'status' && m.trials && Object.values(m.trials).some((n) => Number(n) > 0)), 30_000);
    // A client joining mid-calibration learns the progress from its hello.
    const late = await connect(session.server.address.url);
    await until(() => late.messages.length >= 1);
    expect(late.messages[0]).toMatchObject({ type: 'hello', state: 'calibrating', detail: like.stringMatching(/collecting 3 trials per class/), trials: like.any(Object) });
    late.ws.close();
    await until(() => messages.slice(before).some((m) => m.type === 'status' && m.state === 'running'), 30_000);
    const progress = messages
      .slice(before)
      .filter((m) => m.type === 'status' && m.trials)
      .map((m) => m.trials);
    expect(progress.at(-1)).toEqual({ left: 3, right: 3 });
    // The signal never restarted: frame times keep increasing across the pipeline restart.
    const times = messages.filter((m) => m.type === 'signal').map((m) => m.t0 as number);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
    const stopAt = messages.length;
    ws.send(JSON.stringify({ type: 'calibration', action: 'stop' }));
    await until(() => messages.slice(stopAt).some((m) => m.type === 'status' && /model ready \(recording\)/.test(String(m.detail))), 10_000);
    ws.close();
  }, 60_000);
});
