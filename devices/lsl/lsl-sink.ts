import type { Decision } from '../../src/stream/decision.js';
import type { Chunk, StreamInfo } from '../../src/stream/types.js';
import { localClock } from './lsl-clock.js';
import { DEFAULT_LSL_CONFIG, type LslConfig } from './lsl-config.js';
import { LslOutlet } from './outlet.js';
import { channelsDescXml } from './stream-info.js';

/**
 * neurorx streams as LSL outlets: a signal (float32, one channel per neurorx channel, labels and
 * units in <desc>), its markers (an irregular string stream "<name>-markers"), and decisions.
 * Timestamps are taken on the LSL clock when a chunk is handed over: its last sample "now", the
 * others spaced by the nominal rate before it (liblsl's own convention for pushed chunks).
 */
export class ChunkOutlet {
  private constructor(
    readonly signal: LslOutlet,
    readonly markers: LslOutlet,
    private readonly rate: number,
  ) {}

  static async open(info: StreamInfo, name: string, opts: { type?: string; config?: LslConfig; log?: (m: string) => void } = {}): Promise<ChunkOutlet> {
    const config = opts.config ?? DEFAULT_LSL_CONFIG;
    const units: Record<string, string> = { uV: 'microvolts', mV: 'millivolts', V: 'volts' };
    const desc = channelsDescXml(info.channels.map((c) => ({ label: c.label, unit: units[c.unit] ?? c.unit, type: c.type.toUpperCase() })));
    const signal = await LslOutlet.open({
      name,
      type: opts.type ?? info.type,
      channelCount: info.channels.length,
      channelFormat: 'float32',
      nominalSrate: info.sampleRate,
      sourceId: `neurorx:${info.sourceId}`,
      descXml: desc,
      config,
      log: opts.log,
    });
    const markers = await LslOutlet.open({
      name: `${name}-markers`,
      type: 'Markers',
      channelCount: 1,
      channelFormat: 'string',
      nominalSrate: 0,
      sourceId: `neurorx:${info.sourceId}:markers`,
      config,
      log: opts.log,
    });
    return new ChunkOutlet(signal, markers, info.sampleRate);
  }

  push(chunk: Chunk): void {
    const now = localClock();
    const n = chunk.samples;
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = now - (n - 1 - i) / this.rate;
    this.signal.push(chunk.data, ts, n);
    if (chunk.markers.length > 0) {
      // A marker's place in the chunk gives its LSL time.
      const mts = chunk.markers.map((m) => ts[0] + (m.time - chunk.time));
      this.markers.push(
        chunk.markers.map((m) => m.value),
        mts,
      );
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.signal.close(), this.markers.close()]);
  }
}

/** Decisions as two irregular outlets: "<name>" (string label) and "<name>-probabilities" (float32 per class). */
export class DecisionOutlet {
  private constructor(
    readonly labels: LslOutlet,
    readonly probabilities: LslOutlet,
    private readonly classes: readonly string[],
  ) {}

  static async open(classes: readonly string[], name: string, opts: { config?: LslConfig; log?: (m: string) => void } = {}): Promise<DecisionOutlet> {
    const labels = await LslOutlet.open({ name, type: 'Markers', channelCount: 1, channelFormat: 'string', nominalSrate: 0, sourceId: `neurorx:${name}`, ...opts });
    const probabilities = await LslOutlet.open({
      name: `${name}-probabilities`,
      type: 'Decision',
      channelCount: classes.length,
      channelFormat: 'float32',
      nominalSrate: 0,
      sourceId: `neurorx:${name}:probabilities`,
      descXml: channelsDescXml(classes.map((c) => ({ label: c, unit: 'probability', type: 'Decision' }))),
      ...opts,
    });
    return new DecisionOutlet(labels, probabilities, classes);
  }

  push(d: Decision): void {
    const t = [localClock()];
    this.labels.push([d.label], t);
    this.probabilities.push(
      Float32Array.from(this.classes, (c) => d.probabilities[c] ?? 0),
      t,
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.labels.close(), this.probabilities.close()]);
  }
}
