import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DEAP_EEG_CHANNELS, parseDeapSubject, readDeap, readDeapSubject } from '../devices/datasets/emotion/deap.js';
import { parseDreamer, readDreamer } from '../devices/datasets/emotion/dreamer.js';
import type { EmotionDataset, EmotionSubject, SignalBlock } from '../devices/datasets/emotion/emotion-dataset.js';
import { openEmotionDataset } from '../devices/datasets/emotion/open-emotion-dataset.js';
import { readSeed, readSeedLabels, readSeedSession, SEED_CHANNEL_LABELS } from '../devices/datasets/emotion/seed.js';
import { expectNumeric, expectString, listVariables, MatFormatError, matElement, matToSampleMajor, readMat, readMatVariable, type MatNumeric, type MatValue } from '../devices/file/mat-v5-reader.js';
import { NdArray, readPickle, type PickleValue } from '../devices/file/python-pickle-reader.js';
import { DATA_DIR, FIXTURES } from './helpers/data.js';

// Fixtures and reference values: test/fixtures/scripts/make_emotion_dataset_fixtures.py (scipy/pickle).
const DIR = path.join(FIXTURES, 'emotion');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(DIR, name)));

interface Summary {
  shape: number[];
  sum: number;
  sumsq: number;
  wsum: number;
  first: number[];
  last: number[];
  mid: number;
}
interface MatArray {
  dims: number[];
  data: number[];
}
interface Complex {
  real: number[];
  imag: number[];
}
interface DreamerSubject {
  valence: number[];
  arousal: number[];
  dominance: number[];
  stimuli: Summary[];
  baseline: Summary[];
}
const HANDMADE_NUMERIC = ['x', 'k', 'w', 'big', 'sg', 'lg'] as const;
/** expected.json as the script writes it (the parts these tests read). */
interface Expected {
  classes: {
    variables: string[];
    numeric: Record<string, MatArray & { dtype: string }>;
    lgc: MatArray;
    cpx: Complex;
    txt: string;
    rows: string[];
    empty: number[];
    cel: { dims: number[]; first: number; second: string; third: MatArray };
    st: { dims: number[]; fields: string[]; num: number[]; name: string[] };
    nested: { x: number; label: string };
    sp: { dims: number[] };
  };
  handmade: Record<(typeof HANDMADE_NUMERIC)[number], MatArray> & {
    variables: string[];
    cx: Complex;
    hello: string;
    rows: string[];
    s: { a: number; b: string };
    c: { first: number };
  };
  truncated: { file: string; variable: string; offset: number; needs: number; left: number; compressed: { file: string; variable: string; offset: number } };
  pickles: Record<string, unknown>;
  dreamer: { electrodes: string[]; subjects: DreamerSubject[] };
  dreamerCols: { subjects: DreamerSubject[] };
  deap: { labels: number[][]; trials: { trial: Summary; baseline: Summary }[]; picks: [number, number, number, number][] };
  seed: { labels: number[]; sessions: Record<string, Summary[]> };
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;

/** The script's summary() of a samples x channels block. */
function summarize(b: SignalBlock, nch: number): Summary {
  let sum = 0;
  let sumsq = 0;
  let wsum = 0;
  for (let s = 0; s < b.samples; s++) {
    for (let c = 0; c < nch; c++) {
      const v = b.data[s * nch + c];
      sum += v;
      sumsq += v * v;
      wsum += (s + 1) * (c + 1) * v;
    }
  }
  const row = (s: number): number[] => Array.from(b.data.subarray(s * nch, (s + 1) * nch));
  return {
    shape: [b.samples, nch],
    sum,
    sumsq,
    wsum,
    first: row(0),
    last: row(b.samples - 1),
    mid: b.data[Math.floor(b.samples / 2) * nch + Math.min(5, nch - 1)],
  };
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'neurorx-emotion-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

function numeric(v: MatValue | undefined): MatNumeric {
  expect(v?.kind).toBe('numeric');
  return v as MatNumeric;
}

const DTYPE_CLASS: Record<string, string> = {
  float64: 'double',
  float32: 'single',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
};

describe('MAT v5 reader', () => {
  for (const file of ['mat-classes.mat', 'mat-classes-z.mat']) {
    it(`reads every class scipy writes (${file})`, () => {
      const ref = expected.classes;
      const vars = readMat(fixture(file));
      expect([...vars.keys()]).toEqual(ref.variables);
      for (const [name, want] of Object.entries(ref.numeric)) {
        const v = numeric(vars.get(name));
        expect(v.class, name).toBe(DTYPE_CLASS[want.dtype]);
        expect(v.dims, name).toEqual(want.dims);
        expect(Array.from(v.data), name).toEqual(want.data);
      }
      expect(numeric(vars.get('dbl')).data).toBeInstanceOf(Float64Array);
      expect(numeric(vars.get('sgl')).data).toBeInstanceOf(Float32Array);
      expect(numeric(vars.get('i16')).data).toBeInstanceOf(Int16Array);
      expect(numeric(vars.get('i64')).data).toBeInstanceOf(Float64Array);
      const lgc = vars.get('lgc');
      expect(lgc?.kind).toBe('logical');
      expect(lgc?.dims).toEqual(ref.lgc.dims);
      expect(Array.from((lgc as { data: Uint8Array }).data)).toEqual(ref.lgc.data);
      const cpx = numeric(vars.get('cpx'));
      expect(Array.from(cpx.data)).toEqual(ref.cpx.real);
      expect(Array.from(cpx.imag ?? [])).toEqual(ref.cpx.imag);
      expect(() => expectNumeric(cpx, 'cpx')).toThrow(/cpx is complex/);
      expect(expectString(vars.get('txt'), 'txt')).toBe(ref.txt);
      const rows = vars.get('rows');
      expect(rows?.kind === 'char' && rows.rows).toEqual(ref.rows);
      expect(rows?.dims).toEqual([2, 3]);
      expect(vars.get('empty')?.dims).toEqual(ref.empty);
      expect(expectString(vars.get('estr'), 'estr')).toBe('');

      const cel = vars.get('cel');
      expect(cel?.kind).toBe('cell');
      if (cel?.kind !== 'cell') return;
      expect(cel.dims).toEqual(ref.cel.dims);
      expect(numeric(cel.cells[0]).data[0]).toBe(ref.cel.first);
      expect(expectString(cel.cells[1], 'cel{2}')).toBe(ref.cel.second);
      expect(numeric(cel.cells[2]).dims).toEqual(ref.cel.third.dims);
      expect(Array.from(numeric(cel.cells[2]).data)).toEqual(ref.cel.third.data);

      const st = vars.get('st');
      expect(st?.kind).toBe('struct');
      if (st?.kind !== 'struct') return;
      expect(st.dims).toEqual(ref.st.dims);
      expect(st.fields).toEqual(ref.st.fields);
      expect(st.elements.map((e) => numeric(e.get('num')).data[0])).toEqual(ref.st.num);
      expect(st.elements.map((e) => expectString(e.get('name'), 'name'))).toEqual(ref.st.name);

      const nested = vars.get('nested');
      if (nested?.kind !== 'struct') throw new Error('nested should be a struct');
      const inner = nested.elements[0].get('inner');
      if (inner?.kind !== 'struct') throw new Error('nested.inner should be a struct');
      expect(numeric(inner.elements[0].get('x')).data[0]).toBe(ref.nested.x);
      expect(expectString(inner.elements[0].get('label'), 'label')).toBe(ref.nested.label);

      const sp = vars.get('sp');
      expect(sp?.kind).toBe('unsupported');
      expect(sp?.dims).toEqual(ref.sp.dims);
      expect(() => expectNumeric(sp, 'sp')).toThrow(/mat: sp is a sparse matrix, which neurorx does not read/);
    });
  }

  it('lists variables without reading them, and reads one by name or by listing', () => {
    for (const file of ['mat-classes.mat', 'mat-classes-z.mat']) {
      const buf = fixture(file);
      const list = listVariables(buf);
      expect(list.map((v) => v.name)).toEqual(expected.classes.variables);
      expect(list.every((v) => v.compressed === file.endsWith('-z.mat'))).toBe(true);
      const cube = list.find((v) => v.name === 'cube');
      expect(cube).toMatchObject({ class: 'double', dims: [2, 3, 4], complex: false });
      expect(list.find((v) => v.name === 'lgc')).toMatchObject({ class: 'uint8', logical: true });
      expect(list.find((v) => v.name === 'st')).toMatchObject({ class: 'struct', dims: [1, 2] });
      expect(Array.from(numeric(readMatVariable(buf, 'cube')).data)).toEqual(expected.classes.numeric.cube.data);
      expect(Array.from(numeric(readMatVariable(buf, cube!)).data)).toEqual(expected.classes.numeric.cube.data);
      expect(() => readMatVariable(buf, 'nope', { source: file })).toThrow(`mat: ${file}: no variable "nope" in the file (variables: dbl, sgl,`);
    }
  });

  for (const [file, order] of [
    ['mat-handmade-le.mat', 'little'],
    ['mat-handmade-be.mat', 'big'],
  ] as const) {
    it(`reads a hand-made ${order}-endian file: small elements, narrow stored types, miUINT16 chars, empty cells`, () => {
      const ref = expected.handmade;
      const vars = readMat(fixture(file));
      expect([...vars.keys()]).toEqual(ref.variables);
      for (const name of HANDMADE_NUMERIC) {
        const v = expectNumeric(vars.get(name), name);
        expect(v.dims, name).toEqual(ref[name].dims);
        expect(Array.from(v.data), name).toEqual(ref[name].data);
      }
      expect(numeric(vars.get('k')).data).toBeInstanceOf(Float64Array); // double class stored as miUINT8
      expect(numeric(vars.get('w')).class).toBe('int16');
      expect(vars.get('lg')?.kind).toBe('logical');
      expect(Array.from(numeric(vars.get('cx')).data)).toEqual(ref.cx.real);
      expect(Array.from(numeric(vars.get('cx')).imag ?? [])).toEqual(ref.cx.imag);
      expect(expectString(vars.get('hello'), 'hello')).toBe(ref.hello);
      const rows = vars.get('rows');
      expect(rows?.kind === 'char' && rows.rows).toEqual(ref.rows);
      const s = vars.get('s');
      if (s?.kind !== 'struct') throw new Error('s should be a struct');
      expect(numeric(s.elements[0].get('a')).data[0]).toBe(ref.s.a);
      expect(expectString(s.elements[0].get('b'), 's.b')).toBe(ref.s.b);
      const c = vars.get('c');
      if (c?.kind !== 'cell') throw new Error('c should be a cell');
      expect(numeric(c.cells[0]).data[0]).toBe(ref.c.first);
      expect(numeric(c.cells[1]).dims).toEqual([0, 0]);
      const fh = vars.get('fh');
      expect(fh).toMatchObject({ kind: 'unsupported', what: 'function handle', path: 'fh' });
      expect(() => expectNumeric(fh, 'fh')).toThrow('mat: fh is a function handle, which cannot be read as data');
    });
  }

  it('indexes column-major data and converts it to sample-major', () => {
    const x = numeric(readMat(fixture('mat-handmade-be.mat')).get('x')); // [[1.5 -2 3]; [4 5.25 -6]]
    expect(matElement(x, 0, 0)).toBe(1.5);
    expect(matElement(x, 1, 0)).toBe(4);
    expect(matElement(x, 0, 2)).toBe(3);
    expect(matElement(x, 1, 2)).toBe(-6);
    expect(() => matElement(x, 2, 0)).toThrow(RangeError);
    const byRows = matToSampleMajor(x, 0); // rows are samples: 2 samples x 3 channels
    expect(byRows).toMatchObject({ samples: 2, channels: 3 });
    expect(Array.from(byRows.data)).toEqual([1.5, -2, 3, 4, 5.25, -6]);
    const byCols = matToSampleMajor(x, 1); // columns are samples: 3 samples x 2 channels
    expect(byCols).toMatchObject({ samples: 3, channels: 2 });
    expect(Array.from(byCols.data)).toEqual([1.5, 4, -2, 5.25, 3, -6]);
    expect(Array.from(matToSampleMajor(x, 0, { channels: [2, 0] }).data)).toEqual([3, 1.5, -6, 4]);
    expect(Array.from(matToSampleMajor(x, 1, { channels: [1] }).data)).toEqual([4, 5.25, -6]);
    const cube = numeric(readMat(fixture('mat-classes.mat')).get('cube'));
    expect(matElement(cube, 1, 2, 3)).toBe(23); // numpy arange(24).reshape(2, 3, 4)[1, 2, 3]
    expect(matElement(cube, 0, 1, 2)).toBe(6);
    expect(() => matToSampleMajor(cube, 0, { path: 'cube' })).toThrow('cube should be a 2-D matrix, is 2x3x4');
  });

  it('reads past the parts a caller skips', () => {
    const v = readMatVariable(fixture('dreamer-mini.mat'), 'DREAMER', { skip: (p) => p.endsWith('.ECG') });
    if (v.kind !== 'struct') throw new Error('DREAMER should be a struct');
    const data = v.elements[0].get('Data');
    if (data?.kind !== 'cell' || data.cells[1].kind !== 'struct') throw new Error('Data should be a cell of structs');
    const ecg = data.cells[1].elements[0].get('ECG');
    expect(ecg).toMatchObject({ kind: 'unsupported', what: 'skipped', path: 'DREAMER.Data{2}.ECG' });
    expect(data.cells[1].elements[0].get('EEG')?.kind).toBe('struct');
  });

  it('names the byte offset and the variable of a truncated file', () => {
    const t = expected.truncated;
    let err: unknown;
    try {
      readMat(fixture(t.file), { source: t.file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MatFormatError);
    expect((err as MatFormatError).message).toBe(`mat: ${t.file}: variable "${t.variable}" at byte ${t.offset}: element runs past the end of the file (needs ${t.needs} bytes, ${t.left} left)`);
    expect((err as MatFormatError).offset).toBe(t.offset);
    expect((err as MatFormatError).variable).toBe(t.variable);
    // A cut inside a compressed variable: its name is still recovered from the bytes that are there.
    const c = t.compressed;
    expect(() => readMat(fixture(c.file))).toThrow(new RegExp(`^mat: variable "${c.variable}" at byte ${c.offset}: element runs past the end of the file \\(needs \\d+ bytes, 2864 left\\)$`));
  });

  it('names the path inside a variable when a nested element is corrupt', () => {
    const buf = fixture('mat-handmade-le.mat').slice();
    const s = listVariables(buf).find((v) => v.name === 's')!;
    // tag 8 + flags 16 + dims 16 + name (small) 8 + field-name length (small) 8 + names 8+16: the field a
    const at = s.offset + 80;
    new DataView(buf.buffer).setUint32(at + 4, 10_000, true);
    expect(() => readMat(buf)).toThrow(new RegExp(`^mat: variable "s" \\(s\\.a\\) at byte ${at}: array element runs past the end of its enclosing matrix \\(needs 10000 bytes, \\d+ left\\)$`));
  });

  it('names the variable whose compressed data is corrupt', () => {
    const buf = fixture('dreamer-mini.mat').slice();
    for (let k = 6000; k < 6100; k++) buf[k] ^= 0x5a;
    expect(listVariables(buf).map((v) => v.name)).toEqual(['DREAMER']); // the header still inflates
    expect(() => readMat(buf)).toThrow(/^mat: variable "DREAMER" at byte 128: cannot inflate the compressed variable \(zlib: /);
  });

  it('refuses MAT v7.3 (HDF5) and non-MAT files clearly', () => {
    expect(() => readMat(fixture('v73-stub.mat'))).toThrow(/MATLAB 7\.3 MAT-file \(an HDF5 file\).*save\(filename, '-v7'\).*h5py/);
    expect(() => listVariables(fixture('v73-stub.mat'))).toThrow(/MATLAB 7\.3/);
    const pickle = new Uint8Array(200).fill(0x20);
    expect(() => readMat(pickle)).toThrow(/not a MATLAB Level 5 MAT-file/);
    expect(() => readMat(new Uint8Array(10))).toThrow(/shorter than the 128-byte MAT-file header/);
  });
});

describe('MAT v5 reader: hostile files (issue 15)', () => {
  /** One data element: tag (type, byte count) and data padded to 8 bytes. */
  const element = (type: number, data: Buffer): Buffer => {
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(type, 0);
    tag.writeUInt32LE(data.length, 4);
    return Buffer.concat([tag, data, Buffer.alloc((8 - (data.length % 8)) % 8)]);
  };
  /** A miMATRIX of class `cls` (4 char, 1 cell), dimensions, name and body elements. */
  const matrix = (cls: number, dims: number[], name: string, body: Buffer[]): Buffer => {
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(cls, 0);
    const d = Buffer.alloc(4 * dims.length);
    dims.forEach((v, k) => d.writeInt32LE(v, 4 * k));
    return element(14, Buffer.concat([element(6, flags), element(5, d), element(1, Buffer.from(name)), ...body]));
  };
  const matFile = (...variables: Buffer[]): Uint8Array => {
    const header = Buffer.alloc(128, 0x20);
    header.write('MATLAB 5.0 MAT-file, written by hand for neurorx tests', 0, 'latin1');
    header.fill(0, 116, 124);
    header.writeUInt16LE(0x0100, 124);
    header.write('IM', 126, 'latin1');
    return new Uint8Array(Buffer.concat([header, ...variables]));
  };

  it('refuses a char array of 20 million rows of no characters (V8 aborts near 2^27 array elements), naming the variable', () => {
    const bytes = matFile(matrix(4, [20_000_000, 0], 'c', [element(16, Buffer.alloc(0))]));
    expect(() => readMat(bytes, { source: 'rows.mat' })).toThrow(
      /^mat: rows\.mat: variable "c" at byte \d+: char array of 20000000x0 claims 20000000 rows of 0 characters; more than 1048576 empty rows are refused/,
    );
    // a few empty rows are fine
    expect(readMat(matFile(matrix(4, [3, 0], 'c', [element(16, Buffer.alloc(0))]))).get('c')).toMatchObject({ kind: 'char', rows: ['', '', ''] });
  });

  it('refuses a cell array of more than 2^20 cells: a 10 KB compressed variable inflating to 8 MB of empty cells', () => {
    const n = (1 << 20) + 1;
    const emptyCell = Buffer.from([14, 0, 0, 0, 0, 0, 0, 0]);
    const compressed = deflateSync(matrix(1, [n, 1], 'bomb', [Buffer.alloc(8 * n).fill(emptyCell)]));
    expect(compressed.length).toBeLessThan(20_000);
    const bytes = matFile(element(15, compressed));
    expect(() => readMat(bytes, { source: 'bomb.mat' })).toThrow(
      /^mat: bomb\.mat: variable "bomb" at byte \d+ of the data inflated from the compressed element at byte 128: cell array of 1048577x1 claims 1048577 cells; more than 1048576 are refused/,
    );
  });
});

// ---------------------------------------------------------------- pickles

/** The script's describe(): the JSON view of an unpickled value. */
function describePickle(v: PickleValue): unknown {
  if (v instanceof NdArray) {
    const values: number[] = [];
    const idx = new Array<number>(v.shape.length).fill(0);
    const total = v.shape.reduce((a, b) => a * b, 1);
    for (let n = 0; n < total; n++) {
      values.push(v.at(...idx));
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < v.shape[d]) break;
        idx[d] = 0;
      }
    }
    return { ndarray: v.dtype, shape: v.shape, fortran: v.fortran, values };
  }
  if (v instanceof Map) return { dict: Object.fromEntries([...v].map(([k, x]) => [String(k), describePickle(x)])) };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { tuple: v.map(describePickle) } : v.map(describePickle);
  if (typeof v === 'bigint') return { bigint: v.toString() };
  return v;
}

describe('Python pickle reader', () => {
  for (const name of Object.keys(expected.pickles)) {
    it(`reads ${name} as pickle.loads(encoding='latin1') does`, () => {
      const got = describePickle(readPickle(fixture(name)));
      const scalarOf = (x: unknown): unknown => (x && typeof x === 'object' && Object.keys(x).length === 1 && 'scalar' in x && typeof x.scalar === 'number' ? x.scalar : x);
      const want: unknown = JSON.parse(JSON.stringify(expected.pickles[name]), (_k, x: unknown) => scalarOf(x));
      expect(got).toEqual(want);
    });
  }

  it('keeps numpy arrays as typed arrays of their dtype', () => {
    const top = readPickle(fixture('pickle-p2-py2.pkl')) as Map<string, PickleValue>;
    const f64 = top.get('f64') as NdArray;
    expect(f64.data).toBeInstanceOf(Float64Array);
    expect((top.get('f32') as NdArray).data).toBeInstanceOf(Float32Array);
    expect((top.get('i16') as NdArray).data).toBeInstanceOf(Int16Array);
    const fortran = top.get('fortran') as NdArray;
    expect(fortran.fortran).toBe(true);
    expect(Array.from(fortran.data)).toEqual([0, 3, 1, 4, 2, 5]); // stored column-major
    expect(fortran.at(1, 2)).toBe(5);
    expect(f64.at(1, 2)).toBe(2.5);
    expect(top.get('latin')).toBe('café'); // a Python 2 str, read as Latin-1
  });

  it('refuses any global outside its list, naming it, without running anything', () => {
    const marker = '/tmp/neurorx-pickle-pwned';
    rmSync(marker, { force: true });
    expect(() => readPickle(fixture('pickle-evil.pkl'), { source: 'pickle-evil.pkl' })).toThrow(/^pickle: pickle-evil\.pkl: byte 0 \(GLOBAL\): global "os\.system" is not allowed/);
    expect(existsSync(marker)).toBe(false);
    expect(() => readPickle(fixture('pickle-evil-p4.pkl'))).toThrow(/^pickle: byte \d+ \(STACK_GLOBAL\): global "builtins\.eval" is not allowed/);
  });

  it('names the byte offset and opcode of a truncated or corrupt pickle', () => {
    const whole = fixture('pickle-p2-py2.pkl');
    expect(() => readPickle(whole.subarray(0, 600))).toThrow(/^pickle: byte \d+ \((BINSTRING|SHORT_BINSTRING)\): string runs past the end of the data \(needs \d+ bytes, \d+ left\)$/);
    expect(() => readPickle(whole.subarray(0, whole.length - 1))).toThrow(/the pickle ends before its STOP opcode/);
    expect(() => readPickle(Uint8Array.from([0x80, 0x02, 0xff]))).toThrow('pickle: byte 2 (opcode 0xff): unknown opcode 0xff');
    expect(() => readPickle(Uint8Array.from([0x80, 0x02, 0x68, 0x07, 0x2e]))).toThrow('pickle: byte 2 (BINGET): memo entry 7 was never stored');
  });
});

describe('Python pickle reader: hostile pickles (issue 15)', () => {
  const program = (...parts: (string | number[] | Uint8Array)[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));

  it('refuses lists nested 100 000 deep with a clean error, not a stack overflow', () => {
    const n = 100_000;
    const deep = program([0x80, 2], ']'.repeat(n), 'a'.repeat(n - 1), '.');
    expect(() => readPickle(deep, { source: 'deep.pkl' })).toThrow(/^pickle: deep\.pkl: byte \d+ \(STOP\): values nested more than 1000 deep \(a corrupt or hostile pickle\)$/);
    // 1000 levels are fine
    const ok = readPickle(program([0x80, 2], ']'.repeat(1000), 'a'.repeat(999), '.'));
    let depth = 0;
    for (let v = ok; Array.isArray(v); v = v[0]) depth++;
    expect(depth).toBe(1000);
  });

  it('appends 200 000 items at once (APPENDS) without overflowing the call stack', () => {
    const v = readPickle(program([0x80, 2], ']', '(', 'N'.repeat(200_000), 'e', '.'));
    expect((v as PickleValue[]).length).toBe(200_000);
  });

  it('reads a 1 MB integer (LONG4) in linear time, exactly', () => {
    const bytes = new Uint8Array(1 << 20).fill(0xff);
    bytes[bytes.length - 1] = 0x7f; // 2^(8 * 2^20 - 1) - 1
    const len = Buffer.alloc(4);
    len.writeInt32LE(bytes.length);
    const v = readPickle(program([0x80, 2, 0x8b], len, bytes, '.')) as bigint;
    expect(v).toBe((1n << BigInt(8 * bytes.length - 1)) - 1n);
    expect(readPickle(program([0x80, 2, 0x8a, 2, 0x00, 0x80], '.'))).toBe(-32768);
  });

  it('refuses a \\U escape beyond U+10FFFF naming the opcode, and numbers Python would not read', () => {
    expect(() => readPickle(program('V\\U00110000\n.'))).toThrow('pickle: byte 0 (UNICODE): \\U00110000 is not a Unicode character');
    expect(readPickle(program('V\\U0001F600\n.'))).toBe('😀');
    expect(() => readPickle(program('F0x10\n.'))).toThrow('pickle: byte 0 (FLOAT): "0x10" is not a float');
    expect(readPickle(program('F-1.5e3\n.'))).toBe(-1500);
    expect(() => readPickle(program('N', 'p0x1\n', '.'))).toThrow('pickle: byte 1 (PUT): "0x1" is not a memo index');
  });
});

// ---------------------------------------------------------------- DREAMER

function checkDreamer(ds: EmotionDataset, ref: DreamerSubject[]): void {
  expect(ds.subjects.map((s) => s.id)).toEqual(ref.map((_, k) => String(k + 1)));
  ds.subjects.forEach((s, i) => {
    expect(s.trials.map((t) => t.id)).toEqual(['clip-1', 'clip-2', 'clip-3']);
    expect(s.trials.map((t) => t.ratings.valence)).toEqual(ref[i].valence);
    expect(s.trials.map((t) => t.ratings.arousal)).toEqual(ref[i].arousal);
    expect(s.trials.map((t) => t.ratings.dominance)).toEqual(ref[i].dominance);
    s.trials.forEach((t, k) => {
      expect(summarize(t, 14), `subject ${i + 1} clip ${k + 1}`).toEqual(ref[i].stimuli[k]);
      expect(summarize(t.baseline!, 14), `subject ${i + 1} baseline ${k + 1}`).toEqual(ref[i].baseline[k]);
    });
  });
}

describe('DREAMER', () => {
  it("reads DREAMER.mat's layout as scipy does", async () => {
    const ds = await readDreamer(path.join(DIR, 'dreamer-mini.mat'));
    expect(ds).toMatchObject({ name: 'dreamer', sampleRate: 128, ratingScale: { min: 1, max: 5 } });
    expect(ds.channels.map((c) => c.label)).toEqual(expected.dreamer.electrodes);
    expect(ds.channels.every((c) => c.type === 'eeg' && c.unit === 'uV')).toBe(true);
    checkDreamer(ds, expected.dreamer.subjects);
    // One element by hand: subject 2, clip 3, sample 10, F3 (third electrode); DREAMER stores samples x 14.
    const t = ds.subjects[1].trials[2];
    expect(t.samples).toBe(288);
    expect(t.data.length).toBe(288 * 14);
    const raw = readMatVariable(fixture('dreamer-mini.mat'), 'DREAMER');
    if (raw.kind !== 'struct') throw new Error('DREAMER should be a struct');
    const data = raw.elements[0].get('Data');
    if (data?.kind !== 'cell' || data.cells[1].kind !== 'struct') throw new Error('Data should be a cell of structs');
    const eeg = data.cells[1].elements[0].get('EEG');
    if (eeg?.kind !== 'struct') throw new Error('EEG should be a struct');
    const stimuli = eeg.elements[0].get('stimuli');
    if (stimuli?.kind !== 'cell') throw new Error('stimuli should be a cell');
    const m = numeric(stimuli.cells[2]);
    expect(m.dims).toEqual([288, 14]);
    expect(t.data[10 * 14 + 2]).toBe(matElement(m, 10, 2));
    expect(t.data[287 * 14 + 13]).toBe(matElement(m, 287, 13));
  });

  it('does not mind 1xN cells where DREAMER has Nx1 (and the reverse)', () => {
    checkDreamer(parseDreamer(fixture('dreamer-mini-cols.mat')), expected.dreamerCols.subjects);
  });

  it('names the path of a missing field', () => {
    expect(() => parseDreamer(fixture('dreamer-missing-field.mat'), 'dreamer-missing-field.mat')).toThrow(
      'dreamer: dreamer-missing-field.mat: DREAMER.Data{2}.EEG.stimuli is missing (DREAMER.Data{2}.EEG has fields: baseline)',
    );
    expect(() => parseDreamer(fixture('mat-classes.mat'))).toThrow('mat: DREAMER.mat: no variable "DREAMER" in the file');
  });
});

// ---------------------------------------------------------------- DEAP

function checkDeap(s: EmotionSubject): void {
  const ref = expected.deap;
  expect(s.trials.map((t) => t.id)).toEqual(['video-1', 'video-2', 'video-3']);
  s.trials.forEach((t, k) => {
    const [valence, arousal, dominance, liking] = ref.labels[k];
    expect(t.ratings).toEqual({ valence, arousal, dominance, liking });
    expect(t.samples).toBe(256);
    expect(t.baseline?.samples).toBe(384);
    expect(summarize(t, 32), `trial ${k + 1}`).toEqual(ref.trials[k].trial);
    expect(summarize(t.baseline!, 32), `baseline ${k + 1}`).toEqual(ref.trials[k].baseline);
  });
  for (const [t, c, smp, v] of ref.picks) {
    const trial = s.trials[t];
    const got = smp < 384 ? trial.baseline!.data[smp * 32 + c] : trial.data[(smp - 384) * 32 + c];
    expect(got, `data[${t}][${c}][${smp}]`).toBe(v);
  }
}

describe('DEAP', () => {
  const py2 = gunzipSync(readFileSync(path.join(DIR, 'deap', 's01.dat.gz')));
  const py3 = gunzipSync(readFileSync(path.join(DIR, 'deap', 's01-py3.dat.gz')));

  it("reads the python layout (Python 2 cPickle, as DEAP's s01.dat)", () => {
    const s = parseDeapSubject(py2, { id: 's01' });
    expect(s.id).toBe('s01');
    checkDeap(s);
  });

  it('reads the same pickle written by Python 3 (bytes via _codecs.encode)', () => {
    checkDeap(parseDeapSubject(py3, { id: 's01' }));
  });

  it('reads the matlab layout (column-major 3x40x640 data)', async () => {
    const s = await readDeapSubject(path.join(DIR, 'deap', 's01.mat'));
    expect(s.id).toBe('s01');
    checkDeap(s);
  });

  it('reads a folder of sXX.dat / sXX.mat into one dataset', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 's01.dat'), py2);
    copyFileSync(path.join(DIR, 'deap', 's01.mat'), path.join(dir, 's02.mat'));
    writeFileSync(path.join(dir, 'readme.txt'), 'not a subject');
    const ds = await readDeap(dir);
    expect(ds).toMatchObject({ name: 'deap', sampleRate: 128, ratingScale: { min: 1, max: 9 } });
    expect(ds.channels.map((c) => c.label)).toEqual([...DEAP_EEG_CHANNELS]);
    expect(ds.channels.map((c) => c.label).slice(0, 4)).toEqual(['Fp1', 'AF3', 'F3', 'F7']);
    expect(ds.subjects.map((s) => s.id)).toEqual(['s01', 's02']);
    ds.subjects.forEach(checkDeap);
    expect((await readDeap(dir, { subjects: (id) => id === 's02' })).subjects.map((s) => s.id)).toEqual(['s02']);
  });

  it('detects the layout by content, not by extension', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 's07.mat'), py2); // a pickle with the wrong extension
    checkDeap(await readDeapSubject(path.join(dir, 's07.mat')));
    expect(() => parseDeapSubject(new Uint8Array(300).fill(7), { source: 'junk.dat' })).toThrow('deap: junk.dat is neither a MAT-file nor a Python pickle');
  });
});

// ---------------------------------------------------------------- SEED

describe('SEED', () => {
  const seedDir = path.join(DIR, 'seed');

  it('reads label.mat', async () => {
    expect(await readSeedLabels(path.join(seedDir, 'label.mat'))).toEqual(expected.seed.labels);
  });

  it('reads every session of a folder, compressed or not', async () => {
    const ds = await readSeed(seedDir);
    expect(ds.name).toBe('seed');
    expect(ds.sampleRate).toBe(200);
    expect(ds.ratingScale).toBeUndefined();
    expect(ds.channels).toHaveLength(62);
    expect(ds.channels.map((c) => c.label)).toEqual([...SEED_CHANNEL_LABELS]);
    expect(ds.channels.map((c) => c.label).slice(0, 3)).toEqual(['Fp1', 'Fpz', 'Fp2']);
    expect(ds.channels.map((c) => c.label).slice(-5)).toEqual(['CB1', 'O1', 'Oz', 'O2', 'CB2']);
    expect(ds.subjects.map((s) => s.id)).toEqual(Object.keys(expected.seed.sessions));
    for (const s of ds.subjects) {
      expect(s.trials.map((t) => t.id)).toEqual(['clip-1', 'clip-2', 'clip-3']);
      expect(s.trials.map((t) => t.category)).toEqual(['positive', 'neutral', 'negative']);
      expect(s.trials.every((t) => Object.keys(t.ratings).length === 0 && t.baseline === undefined)).toBe(true);
      s.trials.forEach((t, k) => expect(summarize(t, 62), `${s.id} clip ${k + 1}`).toEqual(expected.seed.sessions[s.id][k]));
    }
  });

  it('reads only the sessions asked for', async () => {
    expect((await readSeed(seedDir, { sessions: (id) => id.startsWith('2-') })).subjects.map((s) => s.id)).toEqual(['2-20140404']);
  });

  it('reads one session with given labels', async () => {
    const s = await readSeedSession(path.join(seedDir, '1_20131027.mat'), [-1, -1, 1]);
    expect(s.id).toBe('1-20131027');
    expect(s.trials.map((t) => t.category)).toEqual(['negative', 'negative', 'positive']);
    await expect(readSeedSession(path.join(seedDir, '1_20131027.mat'), [1, 0])).rejects.toThrow('seed: 1_20131027.mat holds 3 <prefix>_eegN variables, but label.mat has 2 labels');
  });
});

// ---------------------------------------------------------------- openEmotionDataset

describe('openEmotionDataset', () => {
  it('opens each dataset from a given path', async () => {
    expect((await openEmotionDataset('dreamer', { path: path.join(DIR, 'dreamer-mini.mat') })).subjects).toHaveLength(2);
    expect((await openEmotionDataset('seed', { path: path.join(DIR, 'seed') })).subjects).toHaveLength(2);
    const dir = tmpDir();
    writeFileSync(path.join(dir, 's01.dat'), gunzipSync(readFileSync(path.join(DIR, 'deap', 's01.dat.gz'))));
    expect((await openEmotionDataset('deap', { path: dir })).subjects.map((s) => s.id)).toEqual(['s01']);
    expect((await openEmotionDataset('deap', { path: path.join(dir, 's01.dat') })).subjects.map((s) => s.id)).toEqual(['s01']);
  });

  it('finds the default locations under dataDir', async () => {
    const dataDir = tmpDir();
    const deapDir = path.join(dataDir, 'deap', 'data_preprocessed_matlab');
    const seedDir = path.join(dataDir, 'seed', 'Preprocessed_EEG');
    for (const d of [deapDir, seedDir, path.join(dataDir, 'dreamer')]) mkdirSync(d, { recursive: true });
    copyFileSync(path.join(DIR, 'dreamer-mini.mat'), path.join(dataDir, 'dreamer', 'DREAMER.mat'));
    copyFileSync(path.join(DIR, 'deap', 's01.mat'), path.join(deapDir, 's01.mat'));
    for (const f of readdirSync(path.join(DIR, 'seed'))) copyFileSync(path.join(DIR, 'seed', f), path.join(seedDir, f));
    expect((await openEmotionDataset('dreamer', { dataDir })).name).toBe('dreamer');
    expect((await openEmotionDataset('deap', { dataDir })).subjects.map((s) => s.id)).toEqual(['s01']);
    expect((await openEmotionDataset('seed', { dataDir })).subjects).toHaveLength(2);
  });

  it('says what to download and where to put it when a dataset is missing', async () => {
    const dataDir = tmpDir();
    const dreamer = path.join(dataDir, 'dreamer', 'DREAMER.mat');
    await expect(openEmotionDataset('dreamer', { dataDir })).rejects.toThrow(`dreamer: ${dreamer} not found. neurorx cannot ship this dataset`);
    await expect(openEmotionDataset('dreamer', { dataDir })).rejects.toThrow(/zenodo\.org.*put DREAMER\.mat at/);
    await expect(openEmotionDataset('deap', { dataDir })).rejects.toThrow(/deap: .*data_preprocessed_python or .*data_preprocessed_matlab not found.*EULA.*qmul/);
    await expect(openEmotionDataset('seed', { dataDir })).rejects.toThrow(/seed: .*Preprocessed_EEG not found.*bcmi\.sjtu\.edu\.cn.*label\.mat/);
    await expect(openEmotionDataset('seed', { path: path.join(dataDir, 'elsewhere') })).rejects.toThrow(/elsewhere not found/);
  });

  it('lists the known names for an unknown one, and leaves synthetic-emotion to its generator', async () => {
    await expect(openEmotionDataset('amigos')).rejects.toThrow('unknown emotion dataset "amigos" (known: dreamer, deap, seed, synthetic-emotion)');
    await expect(openEmotionDataset('synthetic-emotion')).rejects.toThrow(/pass opts\.synthetic/);
    const fake: EmotionDataset = { name: 'synthetic-emotion', channels: [], sampleRate: 128, subjects: [] };
    expect(await openEmotionDataset('synthetic-emotion', { synthetic: () => fake })).toBe(fake);
  });
});

// ---------------------------------------------------------------- the real datasets, when present

const REAL = (['dreamer', 'deap', 'seed'] as const).filter((name) => existsSync(path.join(DATA_DIR, name)));
if (REAL.length > 0) {
  // DREAMER whole; DEAP's and SEED's first subject/session only (all of SEED is about 8 GB as Float32).
  describe(`the real emotion datasets in ${DATA_DIR}`, () => {
    const shape = { dreamer: { channels: 14, rate: 128, trials: 18 }, deap: { channels: 32, rate: 128, trials: 40 }, seed: { channels: 62, rate: 200, trials: 15 } };
    const open = async (name: (typeof REAL)[number]): Promise<EmotionDataset> => {
      if (name === 'dreamer') return openEmotionDataset('dreamer', { dataDir: DATA_DIR });
      if (name === 'deap') {
        const dir = ['data_preprocessed_python', 'data_preprocessed_matlab'].map((d) => path.join(DATA_DIR, 'deap', d)).find(existsSync)!;
        return readDeap(dir, { subjects: (id) => id === 's01' });
      }
      const dir = path.join(DATA_DIR, 'seed', 'Preprocessed_EEG');
      const first = readdirSync(dir)
        .filter((f) => /^\d+_\d+\.mat$/.test(f))
        .sort()[0];
      return readSeed(dir, { sessions: (id) => id === first.replace('_', '-').replace(/\.mat$/, '') });
    };
    for (const name of REAL) {
      it(
        name,
        async () => {
          const ds = await open(name);
          expect(ds.name).toBe(name);
          expect(ds.channels).toHaveLength(shape[name].channels);
          expect(ds.sampleRate).toBe(shape[name].rate);
          expect(ds.subjects.length).toBeGreaterThan(0);
          for (const s of ds.subjects) {
            expect(s.trials).toHaveLength(shape[name].trials);
            for (const t of s.trials) {
              expect(t.data.length).toBe(t.samples * ds.channels.length);
              expect(t.data.every(Number.isFinite)).toBe(true);
              for (const r of Object.values(t.ratings)) {
                expect(r).toBeGreaterThanOrEqual(ds.ratingScale!.min);
                expect(r).toBeLessThanOrEqual(ds.ratingScale!.max);
              }
            }
          }
        },
        600_000,
      );
    }
  });
}
