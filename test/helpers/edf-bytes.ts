/** Builds small EDF/EDF+/BDF files byte by byte, for reader tests of edge cases and corruption. */
export interface TestSignal {
  label: string;
  dimension?: string;
  physicalMin?: number;
  physicalMax?: number;
  digitalMin?: number;
  digitalMax?: number;
  /** Digital values per record (length = samples per record). */
  records: number[][];
}

export interface TestEdf {
  bdf?: boolean;
  reserved?: string;
  recordDuration?: number;
  recordsDeclared?: number;
  signals: TestSignal[];
  /** Per record, the TAL text of an "EDF Annotations" signal (padded to `annotationBytes`). */
  annotations?: string[];
  annotationBytes?: number;
}

export function buildEdf(spec: TestEdf): Uint8Array {
  const bps = spec.bdf ? 3 : 2;
  const annBytes = spec.annotationBytes ?? 60;
  const signals: (TestSignal & { annotation?: boolean })[] = [...spec.signals];
  if (spec.annotations) {
    signals.push({
      label: spec.bdf ? 'BDF Annotations' : 'EDF Annotations',
      digitalMin: -32768,
      digitalMax: 32767,
      physicalMin: -1,
      physicalMax: 1,
      records: [],
      annotation: true,
    });
  }
  const ns = signals.length;
  const records = spec.signals[0].records.length;
  const field = (s: string | number, width: number): string => String(s).padEnd(width, ' ').slice(0, width);
  let header = '';
  header += field(spec.bdf ? 'XBIOSEMI' : '0', 8);
  header += field('X X X X', 80) + field('Startdate 01-JAN-2020 X X X', 80);
  header += field('01.01.20', 8) + field('10.00.00', 8) + field(256 + ns * 256, 8);
  header += field(spec.reserved ?? (spec.annotations ? 'EDF+C' : ''), 44);
  header += field(spec.recordsDeclared ?? records, 8) + field(spec.recordDuration ?? 1, 8) + field(ns, 4);
  const perSignal = (f: (s: (typeof signals)[number]) => string | number, width: number): void => {
    for (const s of signals) header += field(f(s), width);
  };
  const samplesOf = (s: (typeof signals)[number]): number => (s.annotation ? Math.ceil(annBytes / bps) : s.records[0].length);
  perSignal((s) => s.label, 16);
  perSignal(() => '', 80);
  perSignal((s) => s.dimension ?? (s.annotation ? '' : 'uV'), 8);
  perSignal((s) => s.physicalMin ?? -3276.8, 8);
  perSignal((s) => s.physicalMax ?? 3276.7, 8);
  perSignal((s) => s.digitalMin ?? (spec.bdf ? -8388608 : -32768), 8);
  perSignal((s) => s.digitalMax ?? (spec.bdf ? 8388607 : 32767), 8);
  perSignal(() => '', 80);
  perSignal(samplesOf, 8);
  perSignal(() => '', 32);

  const recordBytes = signals.reduce((sum, s) => sum + samplesOf(s) * bps, 0);
  const out = new Uint8Array(header.length + records * recordBytes);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  if (spec.bdf) out[0] = 0xff;
  let at = header.length;
  const utf8 = new TextEncoder();
  for (let r = 0; r < records; r++) {
    for (const s of signals) {
      if (s.annotation) {
        const bytes = utf8.encode(spec.annotations?.[r] ?? '');
        out.set(bytes.subarray(0, samplesOf(s) * bps), at);
        at += samplesOf(s) * bps;
        continue;
      }
      for (const v of s.records[r]) {
        for (let b = 0; b < bps; b++) out[at++] = (v >> (8 * b)) & 0xff;
      }
    }
  }
  return out;
}
