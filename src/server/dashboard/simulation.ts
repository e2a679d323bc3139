// Simulation (?simulate=64x1000[&decimate=4]): generated messages at a chosen channel count and
// rate, through the same code as a session's, to check the page's speed without a server.
import type { ChannelFlag, ServerMessage } from '../../client/protocol-types.js';
import type { PageState } from './probe.js';
import type { SessionControls } from './session-controls.js';

type Unversioned<M> = M extends ServerMessage ? Omit<M, 'v'> : never;

export interface SimulationOptions {
  /** "<channels>x<rate>", e.g. "64x1000". */
  spec: string;
  /** Shown rate = rate / decimate. */
  decimate: number;
  /** Each message, as parsed from its frame. */
  message(m: ServerMessage): void;
  /** The state the simulated session's controls put it in. */
  state(s: PageState): void;
}

export function startSimulation(o: SimulationOptions): SessionControls {
  const [chs, rate] = o.spec.split('x').map(Number);
  const channels = Array.from({ length: chs || 64 }, (_, i) => `E${i + 1}`);
  const sampleRate = rate || 1000;
  const shownRate = sampleRate / Math.max(1, o.decimate);
  const classes = ['left', 'right'];
  // through JSON like a real frame, so the page's cost includes parsing
  const emit = (m: Unversioned<ServerMessage>): void => o.message(JSON.parse(JSON.stringify({ v: 2, ...m })) as ServerMessage);
  emit({
    type: 'hello',
    protocol: 2,
    server: 'simulation',
    pipeline: { kind: 'simulated', name: 'simulation' },
    stream: { name: `simulated ${channels.length} ch`, type: 'EEG', sampleRate, channels },
    state: 'running',
    classes,
    topics: [],
    subscribed: [],
  });
  let t = 0;
  let seq = 0;
  const frameSeconds = 0.1;
  const per = Math.round(frameSeconds * shownRate);
  setInterval(() => {
    const data = channels.map((_, c) => {
      const row = new Array<number>(per);
      for (let s = 0; s < per; s++) {
        const tt = t + s / shownRate;
        row[s] = c === 3 ? 0 : c === 7 ? 2000 * Math.sin(2 * Math.PI * 0.5 * tt) : (10 + (c % 5)) * Math.sin(2 * Math.PI * (8 + (c % 7)) * tt + c) + 5 * (Math.random() - 0.5) * (c === 11 ? 40 : 1);
      }
      return row;
    });
    const flags = channels.map((_, c): ChannelFlag => (c === 3 ? 'flat' : c === 7 ? 'railed' : c === 11 ? 'noisy' : 'ok'));
    emit({ type: 'signal', t0: t, rate: shownRate, channels, data, flags });
    t += per / shownRate;
  }, frameSeconds * 1000);
  setInterval(() => {
    const p = 0.5 + 0.45 * Math.sin(t / 3);
    const fired = seq % 12 === 11;
    const label = p > 0.5 ? 'left' : 'right';
    emit({
      type: 'decision',
      seq,
      label,
      probabilities: { left: p, right: 1 - p },
      smoothed: { left: p, right: 1 - p },
      timestamp: t,
      latencyMs: 1 + Math.random(),
      state: fired ? 'fired' : 'dwelling',
      candidate: label,
      ...(fired ? { command: label } : {}),
    });
    if (fired) emit({ type: 'command', command: label, label, seq, timestamp: t });
    if (seq % 32 === 0) emit({ type: 'cue', label: seq % 64 ? 'right' : 'left', marker: 'x', timestamp: t });
    seq++;
  }, 250);
  setInterval(() => {
    const freqs = Array.from({ length: Math.floor(shownRate / 2) + 1 }, (_, i) => i);
    const power = freqs.map((f) => 20 - 10 * Math.log10(1 + f) + 8 * Math.exp(-((f - 10) ** 2) / 4) + Math.random());
    const bandEdges: Record<string, [number, number]> = { delta: [1, 4], theta: [4, 8], alpha: [8, 13], beta: [13, 30], gamma: [30, 45] };
    const bands = Object.fromEntries(Object.keys(bandEdges).map((b, i) => [b, channels.map((_, c) => 10 - i * 3 + 4 * Math.sin(c / 5) + Math.random())]));
    emit({ type: 'spectrum', timestamp: t, freqs, power, bands, bandEdges });
  }, 500);
  setInterval(() => emit({ type: 'stats', decisionsPerSecond: 4, latencyMs: { p50: 1.2, p99: 2.5 }, samplesDropped: 0, messagesDropped: 0, clients: 1 }), 1000);
  // The controls only change the simulated state.
  const set = (s: PageState): boolean => {
    o.state(s);
    return true;
  };
  return {
    calibrate: () => set('calibrating'),
    stopCalibration: () => set('running'),
    pause: () => set('paused'),
    resume: () => set('running'),
  };
}
