import type { Chunk, Marker, StreamInfo } from '../../src/stream/types.js';

export function streamInfo(channels: number, sampleRate: number, labels?: string[]): StreamInfo {
  return {
    name: 'test',
    type: 'EEG',
    sourceId: 'test',
    sampleRate,
    channels: Array.from({ length: channels }, (_, i) => ({ label: labels?.[i] ?? `ch${i}`, type: 'eeg' as const, unit: 'uV' })),
  };
}

/** Splits interleaved `data` into chunks of `size` samples (markers placed by time). */
export function toChunks(info: StreamInfo, data: Float32Array, size: number, markers: Marker[] = []): Chunk[] {
  const n = info.channels.length;
  const total = data.length / n;
  const out: Chunk[] = [];
  for (let first = 0; first < total; first += size) {
    const k = Math.min(size, total - first);
    const t0 = first / info.sampleRate;
    const t1 = (first + k) / info.sampleRate;
    out.push({
      info,
      data: data.slice(first * n, (first + k) * n),
      samples: k,
      firstSample: first,
      time: t0,
      markers: markers.filter((m) => m.time >= t0 && m.time < t1),
      receivedAt: 0,
    });
  }
  return out;
}

/** Interleaved ramp: value of channel c at sample s is s * 10 + c. */
export function ramp(channels: number, samples: number): Float32Array {
  const d = new Float32Array(channels * samples);
  for (let s = 0; s < samples; s++) for (let c = 0; c < channels; c++) d[s * channels + c] = s * 10 + c;
  return d;
}
