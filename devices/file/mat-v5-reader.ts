import { constants as zlibConstants, inflateSync } from 'node:zlib';

/**
 * Reader of MATLAB Level 5 MAT-files: what MATLAB's `save` writes with -v6 or -v7 (-v7, MATLAB's
 * default format, compresses each variable) and what scipy.io.savemat writes. DREAMER.mat, DEAP's
 * preprocessed sXX.mat and SEED's session files are such files.
 *
 * Layout (MathWorks, "MAT-File Format", Level 5):
 * - a 128-byte header: 116 bytes of text ("MATLAB 5.0 MAT-file, ..."), 8 bytes of subsystem-data
 *   offset, a 2-byte version (0x0100) and a 2-byte endian indicator: "IM" when the writer was
 *   little-endian, "MI" when it was big-endian. Every number after it uses the writer's byte order;
 *   both orders are read here.
 * - then data elements, each an 8-byte tag (uint32 data type, uint32 byte count) followed by the data
 *   padded to 8 bytes. A "small" element packs a byte count of 1-4 into the upper 16 bits of the
 *   first tag word and its data into the second word.
 * - each variable is one top-level miMATRIX element, or one miCOMPRESSED element holding a zlib
 *   stream that inflates to a miMATRIX element (-v7: every variable compressed on its own, which is
 *   what makes reading a single variable cheap).
 * - a miMATRIX holds sub-elements: array flags (class, complex/global/logical bits), dimensions,
 *   name, then by class: the real (and imaginary) part for numeric arrays, the characters for char
 *   arrays, one miMATRIX per cell for cell arrays, a field-name length, the field names and one
 *   miMATRIX per field per element for structs. The stored data type may be narrower than the class
 *   (MATLAB writes a double array of small integers as miUINT8, say); values are converted.
 *
 * What you get, as stored (MATLAB is column-major: element (i, j) of an r x c array is at i + r*j):
 * - numeric arrays: `data` is a typed array of the class: Float64Array for double, Float32Array for
 *   single, Int8Array ... Uint32Array for the integer classes up to 32 bits, and Float64Array for
 *   int64/uint64 (exact up to 2^53, rounded beyond). Complex arrays keep the real part in `data`
 *   and the imaginary part in `imag`.
 * - logical arrays: Uint8Array of 0/1.
 * - char arrays: `rows` (one string per row of the char matrix, as stored, including any blank
 *   padding) and `text` (the rows joined by "\n"; a 1 x n char array is just the string).
 *   miUTF8, miUINT16/miUTF16 (UTF-16 code units), miUTF32 and 8-bit (Latin-1) character data.
 * - cell arrays: `cells` in column-major order; structs (and struct arrays of any size): `fields`
 *   in file order and `elements` in column-major order, one Map per element.
 * - sparse matrices, function handles, objects (classdef/old-style) and opaque arrays (string,
 *   table, datetime, ...) are read past and kept as `{ kind: 'unsupported' }` placeholders whose
 *   `message` names the variable path; the accessors below throw that message when one is used.
 *
 * Unnamed top-level arrays (the subsystem data MATLAB appends for objects, function workspaces) are
 * not listed. Variables can be listed and read one at a time (`listVariables`, `readMatVariable`): for a
 * compressed variable only the first few hundred bytes are inflated to learn its name, class and
 * dimensions. Reading a variable inflates that variable whole: DREAMER's single variable inflates to
 * well over a gigabyte, so pass `skip` to drop the parts you do not need (they are read past, not converted).
 *
 * Errors are MatFormatErrors naming the byte offset and the variable (and the path inside it) at
 * fault. MAT v7.3 files are HDF5 files and are refused with a message saying how to convert them;
 * MAT v4 files (no header text) are refused too.
 */

// ---------------------------------------------------------------- types

export type MatNumericClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

export type MatNumericData = Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Every array class a MAT-file can name. */
export type MatClassName = MatNumericClass | 'cell' | 'struct' | 'object' | 'char' | 'sparse' | 'function' | 'opaque';

export interface MatNumeric {
  readonly kind: 'numeric';
  readonly class: MatNumericClass;
  readonly dims: readonly number[];
  /** Real part, column-major. */
  readonly data: MatNumericData;
  /** Imaginary part, present for complex arrays only. */
  readonly imag?: MatNumericData;
}

export interface MatLogical {
  readonly kind: 'logical';
  readonly dims: readonly number[];
  /** 0/1 values, column-major. */
  readonly data: Uint8Array;
}

export interface MatChar {
  readonly kind: 'char';
  readonly dims: readonly number[];
  /** One string per row of the char matrix (dims[0] rows), as stored. */
  readonly rows: readonly string[];
  /** The rows joined by "\n". */
  readonly text: string;
}

export interface MatCell {
  readonly kind: 'cell';
  readonly dims: readonly number[];
  /** Column-major. */
  readonly cells: readonly MatValue[];
}

export interface MatStruct {
  readonly kind: 'struct';
  readonly dims: readonly number[];
  readonly fields: readonly string[];
  /** One map per struct element, column-major. */
  readonly elements: readonly ReadonlyMap<string, MatValue>[];
}

export type MatUnsupportedKind = 'sparse' | 'function handle' | 'object' | 'opaque object' | 'skipped';

/** Something read past, not read: using it through the accessors throws `message`. */
export interface MatUnsupported {
  readonly kind: 'unsupported';
  readonly what: MatUnsupportedKind;
  readonly dims: readonly number[];
  /** e.g. `DREAMER.Data{2}.ECG`. */
  readonly path: string;
  readonly message: string;
}

export type MatValue = MatNumeric | MatLogical | MatChar | MatCell | MatStruct | MatUnsupported;

export interface MatVariableInfo {
  readonly name: string;
  readonly class: MatClassName;
  readonly dims: readonly number[];
  readonly complex: boolean;
  readonly logical: boolean;
  readonly global: boolean;
  readonly compressed: boolean;
  /** Byte offset of the variable's top-level element in the file. */
  readonly offset: number;
  /** Bytes the element takes in the file, tag included. */
  readonly byteLength: number;
}

export interface MatReadOptions {
  /** File name for error messages. */
  readonly source?: string;
  /**
   * Called with the path of every array before it is read (`DREAMER.Data{2}.ECG`, MATLAB syntax:
   * `.field`, `{k}` for the k-th cell, `(k)` for the k-th element of a struct array, all 1-based
   * linear indices); return true to read past it and get a 'skipped' placeholder instead.
   */
  readonly skip?: (path: string) => boolean;
}

export class MatFormatError extends Error {
  constructor(
    message: string,
    /** Byte offset at fault: in the file, or in the inflated data of a compressed variable. */
    readonly offset?: number,
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'MatFormatError';
  }
}

// ---------------------------------------------------------------- constants

const mi = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

const TYPE_NAMES: Record<number, string> = {
  1: 'miINT8',
  2: 'miUINT8',
  3: 'miINT16',
  4: 'miUINT16',
  5: 'miINT32',
  6: 'miUINT32',
  7: 'miSINGLE',
  9: 'miDOUBLE',
  12: 'miINT64',
  13: 'miUINT64',
  14: 'miMATRIX',
  15: 'miCOMPRESSED',
  16: 'miUTF8',
  17: 'miUTF16',
  18: 'miUTF32',
};

const CLASS_NAMES: Record<number, MatClassName> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
  16: 'function',
  17: 'opaque',
};

/**
 * Most cells, struct elements (of a struct without fields) or rows (of a char array without
 * columns) one array may claim: each is a JavaScript object or string, and a compressed element
 * can inflate to a billion empty ones (V8 aborts the process, uncatchably, near 2^27 array
 * elements). Real files hold thousands.
 */
const MAX_CONTAINER_ELEMENTS = 1 << 20;

const FLAG_COMPLEX = 0x800;
const FLAG_GLOBAL = 0x400;
const FLAG_LOGICAL = 0x200;

type ArrayCtor = new (length: number) => MatNumericData;

const CLASS_ARRAY: Record<MatNumericClass, ArrayCtor> = {
  double: Float64Array,
  single: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: Float64Array,
  uint64: Float64Array,
};

interface StoredType {
  readonly size: number;
  /** Same-layout typed array, for a straight copy when the byte order matches (not for 64-bit ints). */
  readonly array?: ArrayCtor;
  readonly get: (dv: DataView, at: number, le: boolean) => number;
}

const STORED: Record<number, StoredType> = {
  [mi.INT8]: { size: 1, array: Int8Array, get: (dv, at) => dv.getInt8(at) },
  [mi.UINT8]: { size: 1, array: Uint8Array, get: (dv, at) => dv.getUint8(at) },
  [mi.INT16]: { size: 2, array: Int16Array, get: (dv, at, le) => dv.getInt16(at, le) },
  [mi.UINT16]: { size: 2, array: Uint16Array, get: (dv, at, le) => dv.getUint16(at, le) },
  [mi.INT32]: { size: 4, array: Int32Array, get: (dv, at, le) => dv.getInt32(at, le) },
  [mi.UINT32]: { size: 4, array: Uint32Array, get: (dv, at, le) => dv.getUint32(at, le) },
  [mi.SINGLE]: { size: 4, array: Float32Array, get: (dv, at, le) => dv.getFloat32(at, le) },
  [mi.DOUBLE]: { size: 8, array: Float64Array, get: (dv, at, le) => dv.getFloat64(at, le) },
  [mi.INT64]: { size: 8, get: (dv, at, le) => Number(dv.getBigInt64(at, le)) },
  [mi.UINT64]: { size: 8, get: (dv, at, le) => Number(dv.getBigUint64(at, le)) },
};

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

// ---------------------------------------------------------------- public API

/** Every named variable in the file, in file order. */
export function readMat(buf: Uint8Array, opts: MatReadOptions = {}): Map<string, MatValue> {
  const file = openFile(buf, opts);
  const out = new Map<string, MatValue>();
  for (const entry of file.entries) {
    const value = readEntry(file, entry, opts);
    if (value.name !== '') out.set(value.name, value.value);
  }
  return out;
}

/** Names, classes and dimensions of the variables, without reading (or inflating) their data. */
export function listVariables(buf: Uint8Array, opts: Pick<MatReadOptions, 'source'> = {}): MatVariableInfo[] {
  const file = openFile(buf, opts);
  const out: MatVariableInfo[] = [];
  for (const entry of file.entries) {
    const h = peekHeader(file, entry);
    if (h.name === '') continue;
    out.push({
      name: h.name,
      class: CLASS_NAMES[h.cls] ?? 'opaque',
      dims: h.dims,
      complex: h.complex,
      logical: h.logical,
      global: h.global,
      compressed: entry.type === mi.COMPRESSED,
      offset: entry.at,
      byteLength: entry.next - entry.at,
    });
  }
  return out;
}

/**
 * One variable, by name or by an entry of `listVariables(buf)`. Only that variable is inflated;
 * the others are only peeked at (a name, from their first bytes) when looking it up by name.
 */
export function readMatVariable(buf: Uint8Array, variable: string | MatVariableInfo, opts: MatReadOptions = {}): MatValue {
  const file = openFile(buf, opts);
  if (typeof variable !== 'string') {
    const entry = file.entries.find((e) => e.at === variable.offset);
    if (!entry) throw new MatFormatError(`${prefix(opts)}no variable element starts at byte ${variable.offset} (was the info listed from another file?)`, variable.offset);
    return readEntry(file, entry, opts).value;
  }
  const names: string[] = [];
  for (const entry of file.entries) {
    const h = peekHeader(file, entry);
    if (h.name === variable) return readEntry(file, entry, opts).value;
    if (h.name !== '') names.push(h.name);
  }
  throw new MatFormatError(`${prefix(opts)}no variable "${variable}" in the file (variables: ${names.join(', ') || 'none'})`);
}

/** True when the bytes start like a Level 5 (or 7.3) MAT-file. */
export function looksLikeMat(buf: Uint8Array): boolean {
  return buf.length >= 128 && latin1(buf, 0, 6) === 'MATLAB';
}

// ---------------------------------------------------------------- accessors

/** The struct at `path`, or throws naming it. */
export function expectStruct(v: MatValue | undefined, path: string): MatStruct {
  return expectKind(v, path, 'struct', 'a struct');
}

export function expectCell(v: MatValue | undefined, path: string): MatCell {
  return expectKind(v, path, 'cell', 'a cell array');
}

/** A real numeric or logical array. */
export function expectNumeric(v: MatValue | undefined, path: string): MatNumeric | MatLogical {
  if (v && v.kind === 'numeric' && v.imag) throw new MatFormatError(`${path} is complex; a real array was expected`);
  if (v && (v.kind === 'numeric' || v.kind === 'logical')) return v;
  return expectKind(v, path, 'numeric', 'a numeric array');
}

/** A char array's text (rows joined by "\n"). */
export function expectString(v: MatValue | undefined, path: string): string {
  return expectKind(v, path, 'char', 'a char array').text;
}

/** A numeric array with one element. */
export function expectScalar(v: MatValue | undefined, path: string): number {
  const a = expectNumeric(v, path);
  if (a.data.length !== 1) throw new MatFormatError(`${path} should be a scalar, is ${dimsText(a.dims)}`);
  return a.data[0];
}

/** Field `name` of element `index` (0-based) of a struct array; throws naming the missing path. */
export function structField(s: MatStruct, name: string, path: string, index = 0): MatValue {
  const element = s.elements[index];
  const at = s.elements.length === 1 ? path : `${path}(${index + 1})`;
  if (!element) throw new MatFormatError(`${at} is missing (${path} has ${s.elements.length} elements)`);
  const v = element.get(name);
  if (v === undefined) {
    throw new MatFormatError(`${at}.${name} is missing (${at} has fields: ${s.fields.join(', ') || 'none'})`);
  }
  return v;
}

/** Cell `index` (0-based, column-major) of a cell array; throws naming the missing path. */
export function cellAt(c: MatCell, index: number, path: string): MatValue {
  const v = c.cells[index];
  if (v === undefined) throw new MatFormatError(`${path}{${index + 1}} is missing (${path} is ${dimsText(c.dims)})`);
  return v;
}

/** Element (i, j, ...) of a numeric or logical array, 0-based, honouring column-major storage. */
export function matElement(v: MatNumeric | MatLogical, ...index: number[]): number {
  let offset = 0;
  let stride = 1;
  const n = Math.max(index.length, v.dims.length);
  for (let d = 0; d < n; d++) {
    const i = index[d] ?? 0;
    const size = v.dims[d] ?? 1;
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new RangeError(`index (${index.join(', ')}) is outside an array of ${dimsText(v.dims)}`);
    }
    offset += i * stride;
    stride *= size;
  }
  return v.data[offset];
}

export interface SampleMajorBlock {
  /** samples * channels values, sample-major. */
  readonly data: Float32Array;
  readonly samples: number;
  readonly channels: number;
}

/**
 * A 2-D real matrix as a sample-major Float32Array. `timeAxis` 0: rows are samples (samples x
 * channels, DREAMER); 1: columns are samples (channels x samples, SEED). `channels` picks and
 * orders channels (0-based) along the other axis; all of them by default.
 */
export function matToSampleMajor(v: MatValue | undefined, timeAxis: 0 | 1, opts: { readonly path?: string; readonly channels?: readonly number[] } = {}): SampleMajorBlock {
  const path = opts.path ?? 'the matrix';
  const a = expectNumeric(v, path);
  if (a.dims.slice(2).some((d) => d !== 1)) throw new MatFormatError(`${path} should be a 2-D matrix, is ${dimsText(a.dims)}`);
  const rows = a.dims[0] ?? 0;
  const cols = a.dims[1] ?? 1;
  const samples = timeAxis === 0 ? rows : cols;
  const available = timeAxis === 0 ? cols : rows;
  const picks = opts.channels ?? Array.from({ length: available }, (_, k) => k);
  for (const c of picks) {
    if (!Number.isInteger(c) || c < 0 || c >= available) {
      throw new RangeError(`${path}: channel ${c} is outside its ${available} channels (${dimsText(a.dims)}, time along axis ${timeAxis})`);
    }
  }
  const nch = picks.length;
  const src = a.data;
  const out = new Float32Array(samples * nch);
  if (timeAxis === 0) {
    for (let k = 0; k < nch; k++) {
      const base = rows * picks[k];
      for (let s = 0, o = k; s < samples; s++, o += nch) out[o] = src[base + s];
    }
  } else if (!opts.channels && nch === rows) {
    out.set(src);
  } else {
    for (let s = 0; s < samples; s++) {
      const base = rows * s;
      const o = s * nch;
      for (let k = 0; k < nch; k++) out[o + k] = src[base + picks[k]];
    }
  }
  return { data: out, samples, channels: nch };
}

function expectKind<K extends MatValue['kind']>(v: MatValue | undefined, path: string, kind: K, what: string): Extract<MatValue, { kind: K }> {
  if (v === undefined) throw new MatFormatError(`${path} is missing`);
  if (v.kind === 'unsupported') throw new MatFormatError(v.message);
  if (v.kind !== kind) throw new MatFormatError(`${path} should be ${what}, is ${describeValue(v)}`);
  return v as Extract<MatValue, { kind: K }>;
}

function describeValue(v: MatValue): string {
  const dims = dimsText(v.dims);
  switch (v.kind) {
    case 'numeric':
      return `a ${dims} ${v.class} array`;
    case 'logical':
      return `a ${dims} logical array`;
    case 'char':
      return `a ${dims} char array`;
    case 'cell':
      return `a ${dims} cell array`;
    case 'struct':
      return `a ${dims} struct`;
    default:
      return `a ${v.what}`;
  }
}

function dimsText(dims: readonly number[]): string {
  return dims.length ? dims.join('x') : '0x0';
}

// ---------------------------------------------------------------- file, regions, errors

interface Region {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly le: boolean;
  /** "at byte 123", or "at byte 45 of the data inflated from the compressed element at byte 128". */
  readonly where: (offset: number) => string;
  /** What the region's end is, for overrun messages: "the file", "the inflated data". */
  readonly endName: string;
}

/** Who is being read, for error messages. */
interface Ctx {
  readonly opts: MatReadOptions;
  variable?: string;
}

interface Entry {
  readonly at: number;
  readonly type: number;
  readonly nbytes: number;
  readonly next: number;
}

interface OpenFile {
  readonly buf: Uint8Array;
  readonly region: Region;
  readonly entries: readonly Entry[];
  readonly opts: MatReadOptions;
}

function prefix(opts: Pick<MatReadOptions, 'source'>): string {
  return opts.source ? `mat: ${opts.source}: ` : 'mat: ';
}

function fail(r: Region, offset: number, c: Ctx, path: string, message: string): never {
  const v = c.variable;
  const who = v === undefined ? 'element' : `variable "${v}"${path && path !== v ? ` (${path})` : ''}`;
  throw new MatFormatError(`${prefix(c.opts)}${who} ${r.where(offset)}: ${message}`, offset, v);
}

function region(u8: Uint8Array, le: boolean, where: (offset: number) => string, endName: string): Region {
  return { u8, dv: new DataView(u8.buffer, u8.byteOffset, u8.byteLength), le, where, endName };
}

function openFile(buf: Uint8Array, opts: Pick<MatReadOptions, 'source'>): OpenFile {
  const pre = prefix(opts);
  if (startsWith(buf, 0, HDF5_SIGNATURE) || (buf.length >= 520 && startsWith(buf, 512, HDF5_SIGNATURE))) throw v73Error(pre);
  if (buf.length < 128) {
    throw new MatFormatError(`${pre}the file is ${buf.length} bytes, shorter than the 128-byte MAT-file header`, 0);
  }
  const text = latin1(buf, 0, 116);
  if (text.startsWith('MATLAB 7.3')) throw v73Error(pre);
  const indicator = latin1(buf, 126, 128);
  if (indicator !== 'IM' && indicator !== 'MI') {
    throw new MatFormatError(
      `${pre}bytes 126-127 should hold the endian indicator "IM" or "MI", found ${JSON.stringify(indicator)}: not a MATLAB Level 5 MAT-file` +
        (text.startsWith('MATLAB') ? '' : ' (MAT v4 files, which have no text header, are not read)'),
      126,
    );
  }
  const le = indicator === 'IM';
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint16(124, le);
  if (version === 0x0200) throw v73Error(pre);
  if (version !== 0x0100) {
    throw new MatFormatError(`${pre}unknown MAT-file version 0x${version.toString(16).padStart(4, '0')} at byte 124 (expected 0x0100)`, 124);
  }
  const file = region(buf, le, (o) => `at byte ${o}`, 'the file');
  const subsys = subsystemOffset(buf, dv, le);
  const ctx: Ctx = { opts };
  const entries: Entry[] = [];
  let pos = 128;
  while (pos < buf.length) {
    const left = buf.length - pos;
    if (left < 8) {
      if (buf.subarray(pos).every((b) => b === 0)) break; // padding after the last element
      fail(file, pos, ctx, '', `${left} stray bytes after the last element`);
    }
    const type = dv.getUint32(pos, le);
    const nbytes = dv.getUint32(pos + 4, le);
    if (type !== mi.MATRIX && type !== mi.COMPRESSED) {
      fail(file, pos, ctx, '', `a top-level element should be miMATRIX or miCOMPRESSED, found ${typeName(type)} (a corrupt file?)`);
    }
    if (nbytes > left - 8) {
      ctx.variable = nameFromPartial(buf, pos, type, le);
      fail(file, pos, ctx, '', `element runs past the end of the file (needs ${nbytes} bytes, ${left - 8} left)`);
    }
    const next = Math.min(buf.length, pos + 8 + (type === mi.COMPRESSED ? nbytes : pad8(nbytes)));
    if (pos !== subsys && nbytes > 0) entries.push({ at: pos, type, nbytes, next });
    pos = next;
  }
  return { buf, region: file, entries, opts };
}

function v73Error(pre: string): MatFormatError {
  return new MatFormatError(
    `${pre}this is a MATLAB 7.3 MAT-file (an HDF5 file), which neurorx does not read: ` + `re-save it in MATLAB with save(filename, '-v7') (or -v6), or read it in Python with h5py`,
    0,
  );
}

function subsystemOffset(buf: Uint8Array, dv: DataView, le: boolean): number {
  const raw = buf.subarray(116, 124);
  if (raw.every((b) => b === 0) || raw.every((b) => b === 0x20)) return -1;
  return Number(dv.getBigUint64(116, le));
}

/** The inflated element of a compressed variable, or the file itself for an uncompressed one. */
function entryRegion(file: OpenFile, entry: Entry, ctx: Ctx): { r: Region; at: number; end: number } {
  if (entry.type !== mi.COMPRESSED) return { r: file.region, at: entry.at, end: entry.next };
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(file.buf.subarray(entry.at + 8, entry.at + 8 + entry.nbytes));
  } catch (err) {
    ctx.variable ??= nameFromPartial(file.buf, entry.at, entry.type, file.region.le);
    fail(file.region, entry.at, ctx, '', `cannot inflate the compressed variable (zlib: ${(err as Error).message})`);
  }
  return { r: inflatedRegion(inflated, entry, file.region.le), at: 0, end: inflated.length };
}

function inflatedRegion(u8: Uint8Array, entry: Entry, le: boolean): Region {
  return region(u8, le, (o) => `at byte ${o} of the data inflated from the compressed element at byte ${entry.at}`, 'the inflated data');
}

function readEntry(file: OpenFile, entry: Entry, opts: MatReadOptions): { name: string; value: MatValue } {
  const ctx: Ctx = { opts };
  const { r, at, end } = entryRegion(file, entry, ctx);
  const { value, name } = readMatrix(r, at, end, ctx, null);
  return { name, value };
}

interface MatrixHeader {
  readonly cls: number;
  readonly complex: boolean;
  readonly logical: boolean;
  readonly global: boolean;
  readonly dims: number[];
  readonly name: string;
  /** Where the class-specific data starts. */
  readonly next: number;
}

function peekHeader(file: OpenFile, entry: Entry): MatrixHeader {
  const ctx: Ctx = { opts: file.opts };
  if (entry.type !== mi.COMPRESSED) {
    const tag = readTag(file.region, entry.at, entry.next, ctx, '', 'variable');
    return readMatrixHeader(file.region, tag.data, tag.data + tag.nbytes, ctx, '');
  }
  const { header, error } = headerFromPrefix(file.buf.subarray(entry.at + 8, entry.at + 8 + entry.nbytes), entry, file.region.le, ctx);
  if (header) return header;
  if (error instanceof MatFormatError) throw error;
  return fail(file.region, entry.at, ctx, '', `cannot inflate the compressed variable (zlib: ${(error as Error)?.message})`);
}

/**
 * The matrix header at the start of a compressed variable, from a prefix of its zlib stream: a few
 * hundred bytes hold it; more are inflated only if they do not. Works on cut-short and corrupt
 * streams as long as the header itself is intact.
 */
function headerFromPrefix(src: Uint8Array, entry: Entry, le: boolean, ctx: Ctx): { header?: MatrixHeader; error?: unknown } {
  const sizes = [512, 16_384, 1 << 20].filter((n) => n < src.length).concat(Math.min(src.length, 1 << 20));
  let error: unknown;
  for (const n of sizes) {
    try {
      const part = inflateSync(src.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      const r = inflatedRegion(part, entry, le);
      const tag = readTag(r, 0, part.length, ctx, '', 'variable', true);
      return { header: readMatrixHeader(r, tag.data, Math.min(part.length, tag.data + tag.nbytes), ctx, '') };
    } catch (err) {
      error = err;
    }
  }
  return { error };
}

/** Best effort: the name of a variable whose element is cut short or corrupt (for the error message). */
function nameFromPartial(buf: Uint8Array, at: number, type: number, le: boolean): string | undefined {
  const ctx: Ctx = { opts: {} };
  const avail = buf.subarray(at + 8);
  if (type === mi.COMPRESSED) {
    const entry: Entry = { at, type, nbytes: avail.length, next: buf.length };
    return headerFromPrefix(avail, entry, le, ctx).header?.name || undefined;
  }
  try {
    const r = region(avail, le, (o) => `at byte ${o}`, 'the data');
    return readMatrixHeader(r, 0, avail.length, ctx, '').name || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- elements

interface Tag {
  readonly type: number;
  readonly nbytes: number;
  /** Where the data starts. */
  readonly data: number;
  /** Where the next element starts (after padding). */
  readonly next: number;
}

/**
 * The tag at `at`. `end` bounds the element (the enclosing matrix, the file, the inflated data);
 * `lenient` lets the data run past `end` (peeking at a cut-short prefix).
 */
function readTag(r: Region, at: number, end: number, c: Ctx, path: string, what: string, lenient = false): Tag {
  const within = end === r.u8.length ? r.endName : 'its enclosing matrix';
  if (end - at < 8) fail(r, at, c, path, `${what} tag runs past the end of ${within} (needs 8 bytes, ${Math.max(0, end - at)} left)`);
  const w = r.dv.getUint32(at, r.le);
  if (w >>> 16 !== 0) {
    const nbytes = w >>> 16;
    if (nbytes > 4) fail(r, at, c, path, `${what}: a small data element cannot hold ${nbytes} bytes (at most 4; a corrupt file?)`);
    return { type: w & 0xffff, nbytes, data: at + 4, next: at + 8 };
  }
  const nbytes = r.dv.getUint32(at + 4, r.le);
  const data = at + 8;
  if (nbytes > end - data && !lenient) {
    fail(r, at, c, path, `${what} element runs past the end of ${within} (needs ${nbytes} bytes, ${end - data} left)`);
  }
  const padded = w === mi.COMPRESSED ? nbytes : pad8(nbytes);
  return { type: w, nbytes, data, next: Math.min(data + padded, Math.max(end, data)) };
}

function readMatrixHeader(r: Region, start: number, end: number, c: Ctx, path: string): MatrixHeader {
  const flags = readTag(r, start, end, c, path, 'array flags');
  if (flags.type !== mi.UINT32 || flags.nbytes < 8) {
    fail(r, start, c, path, `array flags should be 8 bytes of miUINT32, found ${flags.nbytes} bytes of ${typeName(flags.type)}`);
  }
  const word = r.dv.getUint32(flags.data, r.le);
  const cls = word & 0xff;
  const base = { cls, complex: (word & FLAG_COMPLEX) !== 0, logical: (word & FLAG_LOGICAL) !== 0, global: (word & FLAG_GLOBAL) !== 0 };
  if (cls === 17) {
    // Opaque arrays (string, table, datetime, ...) have a name but no dimensions.
    const name = readText(r, flags.next, end, c, path, 'array name');
    return { ...base, dims: [], name: name.text, next: name.next };
  }
  const dimsTag = readTag(r, flags.next, end, c, path, 'dimensions');
  if (dimsTag.type !== mi.INT32 || dimsTag.nbytes % 4 !== 0) {
    fail(r, flags.next, c, path, `dimensions should be miINT32, found ${dimsTag.nbytes} bytes of ${typeName(dimsTag.type)}`);
  }
  const dims: number[] = [];
  for (let k = 0; k < dimsTag.nbytes / 4; k++) {
    const d = r.dv.getInt32(dimsTag.data + 4 * k, r.le);
    if (d < 0) fail(r, dimsTag.data + 4 * k, c, path, `negative dimension ${d}`);
    dims.push(d);
  }
  const name = readText(r, dimsTag.next, end, c, path, 'array name');
  return { ...base, dims, name: name.text, next: name.next };
}

/** An miINT8/miUINT8/miUTF8 string element (names). */
function readText(r: Region, at: number, end: number, c: Ctx, path: string, what: string): { text: string; next: number } {
  const tag = readTag(r, at, end, c, path, what);
  if (tag.type !== mi.INT8 && tag.type !== mi.UINT8 && tag.type !== mi.UTF8) {
    fail(r, at, c, path, `${what} should be miINT8 text, found ${typeName(tag.type)}`);
  }
  let stop = tag.data;
  const last = tag.data + tag.nbytes;
  while (stop < last && r.u8[stop] !== 0) stop++;
  return { text: Buffer.from(r.u8.buffer, r.u8.byteOffset + tag.data, stop - tag.data).toString('utf8'), next: tag.next };
}

/**
 * The miMATRIX element at `at`. `path` is null for a top-level variable (its name becomes the
 * path and the variable named in errors).
 */
function readMatrix(r: Region, at: number, end: number, c: Ctx, path: string | null): { value: MatValue; name: string; next: number } {
  const tag = readTag(r, at, end, c, path ?? '', path === null ? 'variable' : 'array');
  if (tag.type !== mi.MATRIX) fail(r, at, c, path ?? '', `expected an miMATRIX element, found ${typeName(tag.type)}`);
  if (tag.nbytes === 0) {
    // MATLAB writes an empty [] in a cell or field as a bare tag.
    return { value: { kind: 'numeric', class: 'double', dims: [0, 0], data: new Float64Array(0) }, name: '', next: tag.next };
  }
  const stop = tag.data + tag.nbytes;
  const h = readMatrixHeader(r, tag.data, stop, c, path ?? '');
  if (path === null) c.variable = h.name;
  const p = path ?? h.name;
  if (c.opts.skip?.(p)) {
    const value = unsupported('skipped', h.dims, p, c, `${p} was skipped while reading (the skip option)`);
    return { value, name: h.name, next: tag.next };
  }
  return { value: readBody(r, h, stop, c, p), name: h.name, next: tag.next };
}

function readBody(r: Region, h: MatrixHeader, end: number, c: Ctx, path: string): MatValue {
  const cls = CLASS_NAMES[h.cls];
  const count = h.dims.reduce((a, b) => a * b, 1);
  switch (cls) {
    case undefined:
      return fail(r, h.next, c, path, `unknown array class ${h.cls}`);
    case 'cell': {
      if (count > MAX_CONTAINER_ELEMENTS)
        fail(r, h.next, c, path, `cell array of ${dimsText(h.dims)} claims ${count} cells; more than ${MAX_CONTAINER_ELEMENTS} are refused (a corrupt or hostile file?)`);
      const cells: MatValue[] = [];
      let pos = h.next;
      for (let k = 0; k < count; k++) {
        const m = readMatrix(r, pos, end, c, `${path}{${k + 1}}`);
        cells.push(m.value);
        pos = m.next;
      }
      return { kind: 'cell', dims: h.dims, cells };
    }
    case 'struct':
      return readStruct(r, h, h.next, end, count, c, path);
    case 'char':
      return readChar(r, h, end, count, c, path);
    case 'sparse':
      return unsupported('sparse', h.dims, path, c, `${path} is a sparse matrix, which neurorx does not read (save it with full(...) first)`);
    case 'function':
      return unsupported('function handle', h.dims, path, c, `${path} is a function handle, which cannot be read as data`);
    case 'object': {
      const className = safeText(r, h.next, end, c, path);
      return unsupported('object', h.dims, path, c, `${path} is a MATLAB object${className ? ` of class "${className}"` : ''}, which neurorx does not read (save its properties as a struct)`);
    }
    case 'opaque': {
      const system = readTextOrNull(r, h.next, end, c, path);
      const className = system ? safeText(r, system.next, end, c, path) : undefined;
      return unsupported(
        'opaque object',
        h.dims,
        path,
        c,
        `${path} is an opaque MATLAB object${className ? ` of class "${className}"` : ''} (string, table, datetime, ...), which neurorx does not read (save it as char, numeric or struct data)`,
      );
    }
    default: {
      const real = readNumeric(r, h.next, end, cls, count, h.dims, c, path, 'real part');
      if (h.logical) {
        const data = new Uint8Array(count);
        for (let k = 0; k < count; k++) data[k] = real.data[k] ? 1 : 0;
        return { kind: 'logical', dims: h.dims, data };
      }
      if (!h.complex) return { kind: 'numeric', class: cls, dims: h.dims, data: real.data };
      const imag = readNumeric(r, real.next, end, cls, count, h.dims, c, path, 'imaginary part');
      return { kind: 'numeric', class: cls, dims: h.dims, data: real.data, imag: imag.data };
    }
  }
}

function unsupported(what: MatUnsupportedKind, dims: readonly number[], path: string, c: Ctx, message: string): MatUnsupported {
  const where = c.opts.source ? `${c.opts.source}: ` : '';
  return { kind: 'unsupported', what, dims, path, message: `mat: ${where}${message}` };
}

function safeText(r: Region, at: number, end: number, c: Ctx, path: string): string | undefined {
  return readTextOrNull(r, at, end, c, path)?.text || undefined;
}

function readTextOrNull(r: Region, at: number, end: number, c: Ctx, path: string): { text: string; next: number } | null {
  try {
    return readText(r, at, end, c, path, 'class name');
  } catch {
    return null;
  }
}

function readNumeric(r: Region, at: number, end: number, cls: MatNumericClass, count: number, dims: readonly number[], c: Ctx, path: string, what: string): { data: MatNumericData; next: number } {
  const tag = readTag(r, at, end, c, path, what);
  const stored = STORED[tag.type];
  if (!stored) fail(r, at, c, path, `${what}: ${typeName(tag.type)} is not a numeric data type`);
  if (tag.nbytes % stored.size !== 0 || tag.nbytes / stored.size !== count) {
    fail(r, at, c, path, `${what} holds ${tag.nbytes} bytes of ${typeName(tag.type)} (${(tag.nbytes / stored.size).toString()} values), but ${dimsText(dims)} needs ${count} values`);
  }
  const Target = CLASS_ARRAY[cls];
  const out = new Target(count);
  if (stored.array === Target && (stored.size === 1 || r.le === HOST_LE)) {
    new Uint8Array(out.buffer, out.byteOffset, tag.nbytes).set(r.u8.subarray(tag.data, tag.data + tag.nbytes));
  } else {
    const { dv, le } = r;
    for (let k = 0, o = tag.data; k < count; k++, o += stored.size) out[k] = stored.get(dv, o, le);
  }
  return { data: out, next: tag.next };
}

function readStruct(r: Region, h: MatrixHeader, at: number, end: number, count: number, c: Ctx, path: string): MatStruct {
  const lenTag = readTag(r, at, end, c, path, 'field name length');
  if (lenTag.type !== mi.INT32 || lenTag.nbytes !== 4) {
    fail(r, at, c, path, `field name length should be one miINT32, found ${lenTag.nbytes} bytes of ${typeName(lenTag.type)}`);
  }
  const len = r.dv.getInt32(lenTag.data, r.le);
  const namesTag = readTag(r, lenTag.next, end, c, path, 'field names');
  if (len <= 0 ? namesTag.nbytes !== 0 : namesTag.nbytes % len !== 0) {
    fail(r, lenTag.next, c, path, `field names take ${namesTag.nbytes} bytes, not a multiple of the field name length ${len}`);
  }
  const fields: string[] = [];
  for (let k = 0; len > 0 && k < namesTag.nbytes / len; k++) {
    const from = namesTag.data + k * len;
    let stop = from;
    while (stop < from + len && r.u8[stop] !== 0) stop++;
    fields.push(Buffer.from(r.u8.buffer, r.u8.byteOffset + from, stop - from).toString('utf8'));
  }
  // Every field of every element takes at least a tag (8 bytes) in the file, so a struct array
  // with fields cannot claim more elements than bytes remain; one without fields costs nothing
  // per element in the file but a Map here: refuse absurd counts rather than exhaust memory.
  if (count > MAX_CONTAINER_ELEMENTS || count * fields.length * 8 > end - namesTag.next) {
    fail(r, at, c, path, `struct array claims ${count} elements of ${fields.length} field(s), more than the ${end - namesTag.next} bytes left can hold`);
  }
  const elements: Map<string, MatValue>[] = [];
  let pos = namesTag.next;
  for (let e = 0; e < count; e++) {
    const element = new Map<string, MatValue>();
    const base = count === 1 ? path : `${path}(${e + 1})`;
    for (const f of fields) {
      const m = readMatrix(r, pos, end, c, `${base}.${f}`);
      element.set(f, m.value);
      pos = m.next;
    }
    elements.push(element);
  }
  return { kind: 'struct', dims: h.dims, fields, elements };
}

function readChar(r: Region, h: MatrixHeader, end: number, count: number, c: Ctx, path: string): MatChar {
  const tag = readTag(r, h.next, end, c, path, 'characters');
  const bytes = r.u8.subarray(tag.data, tag.data + tag.nbytes);
  let units: string;
  switch (tag.type) {
    case mi.UTF8:
      units = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      break;
    case mi.INT8:
    case mi.UINT8:
      units = latin1(bytes, 0, bytes.length);
      break;
    case mi.UINT16:
    case mi.UTF16:
    case mi.INT16: {
      const codes = new Uint16Array(tag.nbytes >> 1);
      for (let k = 0; k < codes.length; k++) codes[k] = r.dv.getUint16(tag.data + 2 * k, r.le);
      units = fromCodes(codes, String.fromCharCode);
      break;
    }
    case mi.UTF32:
    case mi.UINT32:
    case mi.INT32: {
      const codes = new Uint32Array(tag.nbytes >> 2);
      for (let k = 0; k < codes.length; k++) codes[k] = r.dv.getUint32(tag.data + 4 * k, r.le);
      units = fromCodes(codes, String.fromCodePoint);
      break;
    }
    default:
      return fail(r, h.next, c, path, `characters stored as ${typeName(tag.type)}, which is not a character type`);
  }
  const nrows = h.dims[0] ?? 0;
  const ncols = nrows === 0 ? 0 : count / nrows;
  if (nrows > MAX_CONTAINER_ELEMENTS && nrows > units.length) {
    fail(
      r,
      h.next,
      c,
      path,
      `char array of ${dimsText(h.dims)} claims ${nrows} rows of ${units.length} characters; more than ${MAX_CONTAINER_ELEMENTS} empty rows are refused (a corrupt or hostile file?)`,
    );
  }
  if (units.length !== count) {
    if (nrows === 1) return { kind: 'char', dims: h.dims, rows: [units], text: units };
    fail(r, h.next, c, path, `${units.length} characters for a ${dimsText(h.dims)} char array`);
  }
  const rows: string[] = [];
  for (let i = 0; i < nrows; i++) {
    let row = '';
    for (let j = 0; j < ncols; j++) row += units[i + nrows * j];
    rows.push(row);
  }
  return { kind: 'char', dims: h.dims, rows, text: rows.join('\n') };
}

// ---------------------------------------------------------------- small helpers

function fromCodes(codes: Uint16Array | Uint32Array, fn: (...codes: number[]) => string): string {
  let s = '';
  for (let k = 0; k < codes.length; k += 8192) s += fn(...codes.subarray(k, k + 8192));
  return s;
}

function pad8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `data type ${type}`;
}

function latin1(u8: Uint8Array, from: number, to: number): string {
  return Buffer.from(u8.buffer, u8.byteOffset + from, Math.max(0, Math.min(to, u8.length) - from)).toString('latin1');
}

function startsWith(u8: Uint8Array, at: number, sig: readonly number[]): boolean {
  if (u8.length < at + sig.length) return false;
  return sig.every((b, k) => u8[at + k] === b);
}
