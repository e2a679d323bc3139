/**
 * A minimal, safe reader of Python pickles holding plain data and numpy arrays: DEAP's preprocessed
 * sXX.dat files (a Python 2 cPickle, protocol 2, of {'labels': 40x4 float64, 'data': 40x40x8064
 * float64}, which Python 3 loads with pickle.load(f, encoding='latin1')).
 *
 * A pickle is a program for a small stack machine: opcodes push values, build lists, tuples and
 * dicts, store and fetch them in a memo, name globals (module.attribute) and call them (REDUCE,
 * NEWOBJ) or set their state (BUILD). Python's own unpickler imports and calls any global a pickle
 * names, which is why loading an untrusted pickle can run anything. This one never imports or calls
 * anything: it knows a short list of globals and does what they would do, in TypeScript; any other
 * global is an error naming it, raised when the opcode naming it is read.
 *
 * Known globals:
 * - numpy.core.multiarray._reconstruct (and numpy._core..., numpy 2) with numpy.ndarray, then BUILD
 *   with the array state (version, shape, dtype, is_fortran, raw bytes): how numpy arrays pickle
 *   with protocols 0-4;
 * - numpy.core.numeric._frombuffer (and numpy._core...): numpy arrays with protocol 5;
 * - numpy.dtype('f8', 0, 1) then BUILD with (version, byte order, ...): the arrays' dtypes;
 * - numpy.core.multiarray.scalar (and numpy._core...): numpy scalars such as np.float64(1.5);
 * - _codecs.encode(text, 'latin1'): how Python 3 writes bytes with protocols 0-2;
 * - builtins/__builtin__ bytes, bytearray, set, frozenset and collections.OrderedDict: plain data.
 *
 * Values: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * unicode str -> string, Python 2 str -> string decoded as Latin-1 (what encoding='latin1' does;
 * the raw bytes are kept where numpy needs them), bytes/bytearray -> Uint8Array, list -> array,
 * tuple -> frozen array, dict -> Map (keys: string, number, bigint, boolean or null), set/frozenset
 * -> Set, numpy array -> NdArray (a typed array of its dtype, in the stored order), numpy scalar ->
 * number. Opcodes of protocols 0 to 5 are read, except persistent ids, the extension registry
 * and out-of-band buffers. Errors name the byte offset and the opcode at fault.
 */

// ---------------------------------------------------------------- types

export type NdDtype = 'float64' | 'float32' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

/** int64/uint64 arrays are Float64Array (exact up to 2^53); bool arrays Uint8Array of 0/1. */
export type NdData = Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** A numpy array: its values in the order numpy stored them (C order, or Fortran when `fortran`). */
export class NdArray {
  constructor(
    readonly dtype: NdDtype,
    readonly shape: readonly number[],
    readonly fortran: boolean,
    readonly data: NdData,
  ) {}

  /** Element offsets along each axis (in elements, not bytes). */
  get strides(): number[] {
    const n = this.shape.length;
    const strides = new Array<number>(n);
    let step = 1;
    for (let k = 0; k < n; k++) {
      const axis = this.fortran ? k : n - 1 - k;
      strides[axis] = step;
      step *= this.shape[axis];
    }
    return strides;
  }

  /** Element (i, j, ...), 0-based. */
  at(...index: number[]): number {
    if (index.length !== this.shape.length) throw new RangeError(`${this.shape.length} indices needed, got ${index.length}`);
    const strides = this.strides;
    let offset = 0;
    index.forEach((i, k) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[k]) throw new RangeError(`index (${index.join(', ')}) is outside shape (${this.shape.join(', ')})`);
      offset += i * strides[k];
    });
    return this.data[offset];
  }
}

export type PickleKey = string | number | bigint | boolean | null;

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | NdArray | PickleValue[] | readonly PickleValue[] | Map<PickleKey, PickleValue> | Set<PickleKey>;

export interface PickleReadOptions {
  /** File name for error messages. */
  readonly source?: string;
}

export class PickleError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Unpickles `buf`; see the file comment for what is read and how values are represented. */
export function readPickle(buf: Uint8Array, opts: PickleReadOptions = {}): PickleValue {
  return new Unpickler(buf, opts.source).run();
}

/** True when the bytes start like a pickle of protocol 2 or later, or like a protocol-0/1 dict. */
export function looksLikePickle(buf: Uint8Array): boolean {
  return buf.length > 2 && ((buf[0] === 0x80 && buf[1] >= 2 && buf[1] <= 5) || buf[0] === 0x7d || (buf[0] === 0x28 && buf[1] === 0x64));
}

// ---------------------------------------------------------------- internal values

/** A Python 2 str: bytes, read as Latin-1 text where text is needed. */
class Py2Str {
  constructor(readonly bytes: Uint8Array) {}
  text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('latin1');
  }
}

/** numpy.dtype(...) before and after BUILD. */
class PyDtype {
  order: '<' | '>' | '|' = '<';
  unsupported?: string;
  constructor(readonly code: string) {}
}

/** ndarray from _reconstruct, waiting for BUILD; memo and stack keep this object. */
class PendingArray {
  built?: NdArray;
}

interface GlobalImpl {
  call?: (args: Value[], u: Unpickler) => Value;
  newobj?: (args: Value[], u: Unpickler) => Value;
}

class PyGlobal {
  constructor(
    readonly qualified: string,
    readonly impl: GlobalImpl,
  ) {}
}

type Value = null | boolean | number | bigint | string | Uint8Array | NdArray | Value[] | Map<PickleKey, Value> | Set<PickleKey> | Py2Str | PyDtype | PendingArray | PyGlobal;

const OPNAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

// ---------------------------------------------------------------- the machine

/** Deepest nesting of lists, tuples and dicts in a result. */
const MAX_DEPTH = 1000;

class Unpickler {
  private pos = 0;
  private opAt = 0;
  private op = 0;
  private stack: Value[] = [];
  private readonly metastack: Value[][] = [];
  private readonly memo = new Map<number, Value>();
  private readonly tuples = new WeakSet<Value[]>();
  private readonly dv: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly source: string | undefined,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string, offset = this.opAt): never {
    const src = this.source ? `${this.source}: ` : '';
    const op = OPNAMES[this.op] ?? `opcode 0x${this.op.toString(16).padStart(2, '0')}`;
    throw new PickleError(`pickle: ${src}byte ${offset} (${op}): ${message}`, offset);
  }

  run(): PickleValue {
    const { buf } = this;
    for (;;) {
      if (this.pos >= buf.length) {
        this.opAt = this.pos;
        this.op = 0x2e;
        this.fail('the pickle ends before its STOP opcode (truncated file?)');
      }
      this.opAt = this.pos;
      this.op = buf[this.pos++];
      if (this.op === 0x2e) {
        const result = this.pop();
        return this.finish(result, new WeakSet(), 0);
      }
      this.step(this.op);
    }
  }

  // ------------------------------------------------ reading bytes

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) this.fail(`${what} runs past the end of the data (needs ${n} bytes, ${this.buf.length - this.pos} left)`);
  }

  private u8(): number {
    this.need(1, 'argument');
    return this.buf[this.pos++];
  }

  private u16(): number {
    this.need(2, 'argument');
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private i32(): number {
    this.need(4, 'argument');
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u32(): number {
    this.need(4, 'argument');
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u64(): number {
    this.need(8, 'argument');
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }

  private bytes(n: number, what = 'data'): Uint8Array {
    if (n < 0) this.fail(`negative length ${n}`);
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A newline-terminated argument (protocol 0), as Latin-1 text without the newline. */
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('argument line has no terminating newline (truncated file?)');
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, end - this.pos).toString('latin1');
    this.pos = end + 1;
    return s;
  }

  private utf8(n: number): string {
    const b = this.bytes(n, 'string');
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  }

  // ------------------------------------------------ stack

  private push(v: Value): void {
    this.stack.push(v);
  }

  private pop(): Value {
    if (this.stack.length === 0) this.fail('the stack is empty (a corrupt pickle?)');
    return this.stack.pop() as Value;
  }

  private top(): Value {
    if (this.stack.length === 0) this.fail('the stack is empty (a corrupt pickle?)');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): Value[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) this.fail('no MARK to pop to (a corrupt pickle?)');
    this.stack = prev;
    return items;
  }

  private tuple(items: Value[]): Value[] {
    this.tuples.add(items);
    return items;
  }

  // ------------------------------------------------ opcodes

  private step(op: number): void {
    switch (op) {
      case 0x80: {
        // PROTO
        const p = this.u8();
        if (p > 5) this.fail(`protocol ${p} is newer than the protocols read here (0-5)`);
        return;
      }
      case 0x95:
        this.u64();
        return; // FRAME: a length hint only
      case 0x28:
        this.metastack.push(this.stack);
        this.stack = [];
        return; // MARK
      case 0x31:
        this.popMark();
        return; // POP_MARK
      case 0x30: // POP
        if (this.stack.length === 0 && this.metastack.length > 0) this.popMark();
        else this.pop();
        return;
      case 0x32:
        this.push(this.top());
        return; // DUP
      case 0x4e:
        this.push(null);
        return; // NONE
      case 0x88:
        this.push(true);
        return; // NEWTRUE
      case 0x89:
        this.push(false);
        return; // NEWFALSE
      case 0x49: {
        // INT
        const s = this.line().trim();
        if (s === '01') this.push(true);
        else if (s === '00') this.push(false);
        else this.push(this.parseInt(s));
        return;
      }
      case 0x4a:
        this.push(this.i32());
        return; // BININT
      case 0x4b:
        this.push(this.u8());
        return; // BININT1
      case 0x4d:
        this.push(this.u16());
        return; // BININT2
      case 0x4c:
        this.push(this.parseInt(this.line().trim().replace(/L$/, '')));
        return; // LONG
      case 0x8a:
        this.push(littleSigned(this.bytes(this.u8(), 'long')));
        return; // LONG1
      case 0x8b:
        this.push(littleSigned(this.bytes(this.i32(), 'long')));
        return; // LONG4
      case 0x46:
        this.push(parsePyFloat(this.line().trim(), this));
        return; // FLOAT
      case 0x47: {
        // BINFLOAT (big-endian)
        this.need(8, 'float');
        this.push(this.dv.getFloat64(this.pos, false));
        this.pos += 8;
        return;
      }
      case 0x53:
        this.push(new Py2Str(decodePyRepr(this.line().trim(), this)));
        return; // STRING
      case 0x54:
        this.push(new Py2Str(this.bytes(this.i32(), 'string')));
        return; // BINSTRING
      case 0x55:
        this.push(new Py2Str(this.bytes(this.u8(), 'string')));
        return; // SHORT_BINSTRING
      case 0x56:
        this.push(decodeRawUnicodeEscape(this.line(), this));
        return; // UNICODE
      case 0x58:
        this.push(this.utf8(this.u32()));
        return; // BINUNICODE
      case 0x8c:
        this.push(this.utf8(this.u8()));
        return; // SHORT_BINUNICODE
      case 0x8d:
        this.push(this.utf8(this.u64()));
        return; // BINUNICODE8
      case 0x42:
        this.push(this.bytes(this.u32()));
        return; // BINBYTES
      case 0x43:
        this.push(this.bytes(this.u8()));
        return; // SHORT_BINBYTES
      case 0x8e:
        this.push(this.bytes(this.u64()));
        return; // BINBYTES8
      case 0x96:
        this.push(this.bytes(this.u64()));
        return; // BYTEARRAY8
      case 0x97:
        return this.fail('out-of-band buffers (protocol 5 buffer_callback) are not supported');
      case 0x98:
        return; // READONLY_BUFFER
      case 0x29:
        this.push(this.tuple([]));
        return; // EMPTY_TUPLE
      case 0x74:
        this.push(this.tuple(this.popMark()));
        return; // TUPLE
      case 0x85:
        this.push(this.tuple([this.pop()]));
        return; // TUPLE1
      case 0x86: {
        const b = this.pop();
        const a = this.pop();
        this.push(this.tuple([a, b]));
        return;
      } // TUPLE2
      case 0x87: {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        this.push(this.tuple([a, b, c]));
        return;
      } // TUPLE3
      case 0x5d:
        this.push([]);
        return; // EMPTY_LIST
      case 0x6c:
        this.push(this.popMark());
        return; // LIST
      case 0x61: {
        const v = this.pop();
        this.list(this.top()).push(v);
        return;
      } // APPEND
      case 0x65: {
        const items = this.popMark();
        const list = this.list(this.top());
        for (const v of items) list.push(v);
        return;
      } // APPENDS
      case 0x7d:
        this.push(new Map());
        return; // EMPTY_DICT
      case 0x64: {
        // DICT
        const items = this.popMark();
        const m = new Map<PickleKey, Value>();
        this.setItems(m, items);
        this.push(m);
        return;
      }
      case 0x73: {
        const v = this.pop();
        const k = this.pop();
        this.dict(this.top()).set(this.key(k), v);
        return;
      } // SETITEM
      case 0x75: {
        const items = this.popMark();
        this.setItems(this.dict(this.top()), items);
        return;
      } // SETITEMS
      case 0x8f:
        this.push(new Set());
        return; // EMPTY_SET
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        const s = this.top();
        if (!(s instanceof Set)) this.fail(`ADDITEMS on ${this.describe(s)}, not a set`);
        for (const v of items) s.add(this.key(v));
        return;
      }
      case 0x91:
        this.push(new Set(this.popMark().map((v) => this.key(v))));
        return; // FROZENSET
      case 0x67:
        this.push(this.memoGet(this.parseIndex(this.line())));
        return; // GET
      case 0x68:
        this.push(this.memoGet(this.u8()));
        return; // BINGET
      case 0x6a:
        this.push(this.memoGet(this.u32()));
        return; // LONG_BINGET
      case 0x70:
        this.memo.set(this.parseIndex(this.line()), this.top());
        return; // PUT
      case 0x71:
        this.memo.set(this.u8(), this.top());
        return; // BINPUT
      case 0x72:
        this.memo.set(this.u32(), this.top());
        return; // LONG_BINPUT
      case 0x94:
        this.memo.set(this.memo.size, this.top());
        return; // MEMOIZE
      case 0x63: {
        // GLOBAL
        const module = this.line();
        const name = this.line();
        this.push(this.global(module, name));
        return;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        this.push(this.global(this.text(module, 'module name'), this.text(name, 'global name')));
        return;
      }
      case 0x52: {
        const args = this.pop();
        const fn = this.pop();
        this.push(this.call(fn, args));
        return;
      } // REDUCE
      case 0x62: {
        const state = this.pop();
        this.build(this.top(), state);
        return;
      } // BUILD
      case 0x81: {
        const args = this.pop();
        const cls = this.pop();
        this.push(this.newobj(cls, args));
        return;
      } // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) this.fail('keyword arguments to a constructor are not supported');
        this.push(this.newobj(cls, args));
        return;
      }
      case 0x69: {
        // INST
        const module = this.line();
        const name = this.line();
        const cls = this.global(module, name);
        this.push(this.call(cls, this.tuple(this.popMark())));
        return;
      }
      case 0x6f: {
        // OBJ
        const items = this.popMark();
        const cls = items.shift();
        this.push(this.call(cls ?? null, this.tuple(items)));
        return;
      }
      case 0x50:
      case 0x51:
        return this.fail('persistent ids are not supported (the pickle refers to objects stored elsewhere)');
      case 0x82:
      case 0x83:
      case 0x84:
        return this.fail('the copyreg extension registry is not supported');
      default:
        return this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')} (not a pickle, or a corrupt one?)`);
    }
  }

  private parseInt(s: string): number | bigint {
    if (!/^[-+]?\d+$/.test(s)) this.fail(`${JSON.stringify(s)} is not an integer`);
    return normalize(BigInt(s));
  }

  private parseIndex(s: string): number {
    if (!/^\d+$/.test(s.trim())) this.fail(`${JSON.stringify(s)} is not a memo index`);
    return Number(s.trim());
  }

  private memoGet(k: number): Value {
    if (!this.memo.has(k)) this.fail(`memo entry ${k} was never stored (a corrupt pickle?)`);
    return this.memo.get(k) as Value;
  }

  private list(v: Value): Value[] {
    if (!Array.isArray(v) || this.tuples.has(v)) this.fail(`appending to ${this.describe(v)}, not a list`);
    return v;
  }

  private dict(v: Value): Map<PickleKey, Value> {
    if (!(v instanceof Map)) this.fail(`setting items of ${this.describe(v)}, not a dict`);
    return v;
  }

  private setItems(m: Map<PickleKey, Value>, items: Value[]): void {
    if (items.length % 2 !== 0) this.fail(`${items.length} values between MARK and the opcode: keys and values should pair up`);
    for (let k = 0; k < items.length; k += 2) m.set(this.key(items[k]), items[k + 1]);
  }

  private key(v: Value): PickleKey {
    if (v instanceof Py2Str) return v.text();
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
    return this.fail(`${this.describe(v)} as a dict key or set item is not supported (only strings, numbers, booleans and None)`);
  }

  text(v: Value, what: string): string {
    if (typeof v === 'string') return v;
    if (v instanceof Py2Str) return v.text();
    return this.fail(`${what} should be a string, is ${this.describe(v)}`);
  }

  /** Bytes-like data: bytes, a Python 2 str, or text encoded as Latin-1 (what encoding='latin1' implies). */
  raw(v: Value, what: string): Uint8Array {
    if (v instanceof Uint8Array) return v;
    if (v instanceof Py2Str) return v.bytes;
    if (typeof v === 'string') return this.encode(v, 'latin1');
    return this.fail(`${what} should be bytes, is ${this.describe(v)}`);
  }

  encode(s: string, encoding: string): Uint8Array {
    const enc = encoding.toLowerCase().replace(/_/g, '-');
    if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1' || enc === 'iso8859-1') {
      const out = new Uint8Array(s.length);
      for (let k = 0; k < s.length; k++) {
        const c = s.charCodeAt(k);
        if (c > 0xff) this.fail(`character U+${c.toString(16).toUpperCase().padStart(4, '0')} cannot be encoded as Latin-1`);
        out[k] = c;
      }
      return out;
    }
    if (enc === 'utf-8' || enc === 'utf8' || enc === 'ascii') return new Uint8Array(Buffer.from(s, 'utf8'));
    return this.fail(`encoding ${JSON.stringify(encoding)} is not supported`);
  }

  describe(v: Value): string {
    if (v === null) return 'None';
    if (v instanceof NdArray || v instanceof PendingArray) return 'a numpy array';
    if (v instanceof PyDtype) return 'a numpy dtype';
    if (v instanceof PyGlobal) return `the global ${v.qualified}`;
    if (v instanceof Py2Str) return 'a str';
    if (v instanceof Uint8Array) return 'bytes';
    if (v instanceof Map) return 'a dict';
    if (v instanceof Set) return 'a set';
    if (Array.isArray(v)) return this.tuples.has(v) ? 'a tuple' : 'a list';
    return `a ${typeof v}`;
  }

  private global(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`;
    const impl = GLOBALS[qualified];
    if (!impl) {
      this.fail(
        `global "${qualified}" is not allowed: this reader only rebuilds plain data and numpy arrays, ` +
          'and never imports or calls anything (allowed: numpy arrays, dtypes and scalars, _codecs.encode, bytes, ' +
          'bytearray, set, frozenset, collections.OrderedDict)',
      );
    }
    return new PyGlobal(qualified, impl);
  }

  private args(v: Value): Value[] {
    if (!Array.isArray(v)) this.fail(`arguments should be a tuple, are ${this.describe(v)}`);
    return v;
  }

  private call(fn: Value, args: Value): Value {
    if (!(fn instanceof PyGlobal)) this.fail(`cannot call ${this.describe(fn)}`);
    if (!fn.impl.call) this.fail(`${fn.qualified} cannot be called here`);
    return fn.impl.call(this.args(args), this);
  }

  private newobj(cls: Value, args: Value): Value {
    if (!(cls instanceof PyGlobal)) this.fail(`cannot create an instance of ${this.describe(cls)}`);
    const make = cls.impl.newobj;
    if (!make) this.fail(`cannot create instances of ${cls.qualified} with ${OPNAMES[this.op]}`);
    return make(this.args(args), this);
  }

  private build(obj: Value, state: Value): void {
    if (obj instanceof PendingArray) {
      obj.built = this.arrayFromState(state);
      return;
    }
    if (obj instanceof PyDtype) {
      this.dtypeState(obj, state);
      return;
    }
    if (obj instanceof Map && state instanceof Map) {
      for (const [k, v] of state) obj.set(k, v);
      return;
    }
    this.fail(`cannot set the state of ${this.describe(obj)}`);
  }

  private dtypeState(d: PyDtype, state: Value): void {
    const s = this.args(state);
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]); version 1 lacks the first.
    const hasVersion = typeof s[0] === 'number';
    const at = (k: number): Value => s[hasVersion ? k : k - 1];
    const order = this.text(at(1) ?? '<', 'byte order');
    if (order === '>') d.order = '>';
    else if (order === '|') d.order = '|';
    else d.order = '<';
    if (at(2) !== null && at(2) !== undefined) d.unsupported = 'sub-array dtypes are not supported';
    if (at(3) !== null && at(3) !== undefined) d.unsupported = 'structured (record) dtypes are not supported';
  }

  /** ndarray.__setstate__: (version, shape, dtype, is_fortran, raw) or, older, without the version. */
  private arrayFromState(state: Value): NdArray {
    const s = this.args(state);
    const t = s.length === 5 ? s.slice(1) : s;
    if (t.length !== 4) this.fail(`a numpy array state should have 4 or 5 items, has ${s.length}`);
    const [shape, dtype, fortran, raw] = t;
    if (Array.isArray(raw)) this.fail('object arrays (dtype=object) are not supported');
    return this.makeArray(this.shape(shape), dtype, fortran === true || fortran === 1, this.raw(raw, 'array data'));
  }

  shape(v: Value): number[] {
    const s = Array.isArray(v) ? v : [v];
    return s.map((d) => {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) this.fail(`array shape (${s.map(String).join(', ')}) is not a list of sizes`);
      return d;
    });
  }

  makeArray(shape: number[], dtypeValue: Value, fortran: boolean, raw: Uint8Array): NdArray {
    if (!(dtypeValue instanceof PyDtype)) this.fail(`array dtype should be a numpy.dtype, is ${this.describe(dtypeValue)}`);
    const dt = dtypeInfo(dtypeValue, this);
    const count = shape.reduce((a, b) => a * b, 1);
    if (raw.length !== count * dt.size) {
      this.fail(`array data holds ${raw.length} bytes, but shape (${shape.join(', ')}) of ${dt.name} needs ${count * dt.size}`);
    }
    return new NdArray(dt.name, shape, fortran && shape.length > 1, convert(raw, dt, count, dtypeValue.order === '>'));
  }

  dtype(code: string): PyDtype {
    return new PyDtype(code);
  }

  reconstruct(): PendingArray {
    return new PendingArray();
  }

  /**
   * Replaces internal values by public ones, in place (memo references stay shared). Recursive:
   * values nested deeper than MAX_DEPTH are refused (data pickles nest a few levels).
   */
  private finish(v: Value, seen: WeakSet<object>, depth: number): PickleValue {
    if (depth > MAX_DEPTH) this.fail(`values nested more than ${MAX_DEPTH} deep (a corrupt or hostile pickle)`);
    if (v instanceof Py2Str) return v.text();
    if (v instanceof PendingArray) {
      if (!v.built) this.fail('a numpy array was never given its state (BUILD)');
      return v.built;
    }
    if (v instanceof PyDtype) return dtypeInfo(v, this).name;
    if (v instanceof PyGlobal) return this.fail(`the result holds the global ${v.qualified} itself, not data`);
    if (v instanceof Uint8Array) return v.slice(); // bytes were views of the input
    if (Array.isArray(v)) {
      if (seen.has(v)) return v as PickleValue[];
      seen.add(v);
      for (let k = 0; k < v.length; k++) v[k] = this.finish(v[k], seen, depth + 1) as Value;
      if (this.tuples.has(v)) Object.freeze(v);
      return v as PickleValue[];
    }
    if (v instanceof Map) {
      if (seen.has(v)) return v as Map<PickleKey, PickleValue>;
      seen.add(v);
      for (const [k, x] of v) v.set(k, this.finish(x, seen, depth + 1) as Value);
      return v as Map<PickleKey, PickleValue>;
    }
    return v;
  }
}

// ---------------------------------------------------------------- numpy

interface DtypeInfo {
  readonly name: NdDtype;
  readonly size: number;
}

const DTYPES: Record<string, DtypeInfo> = {
  f4: { name: 'float32', size: 4 },
  f8: { name: 'float64', size: 8 },
  i1: { name: 'int8', size: 1 },
  i2: { name: 'int16', size: 2 },
  i4: { name: 'int32', size: 4 },
  i8: { name: 'int64', size: 8 },
  u1: { name: 'uint8', size: 1 },
  u2: { name: 'uint16', size: 2 },
  u4: { name: 'uint32', size: 4 },
  u8: { name: 'uint64', size: 8 },
  b1: { name: 'bool', size: 1 },
};

function dtypeInfo(d: PyDtype, u: Unpickler): DtypeInfo {
  if (d.unsupported) u.fail(d.unsupported);
  const code = d.code.replace(/^[<>|=]/, '');
  const info = DTYPES[code];
  if (!info) {
    const kind = code[0];
    const what = kind === 'c' ? 'complex' : kind === 'O' ? 'object' : kind === 'U' || kind === 'S' ? 'string' : kind === 'f' ? 'this float size' : kind === 'M' || kind === 'm' ? 'datetime' : 'this';
    u.fail(`numpy dtype "${d.code}" (${what} arrays) is not supported`);
  }
  return info;
}

const TYPED: Record<NdDtype, new (buffer: ArrayBuffer) => NdData> = {
  float64: Float64Array,
  float32: Float32Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bool: Uint8Array,
  int64: Float64Array,
  uint64: Float64Array, // converted below
};

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function convert(raw: Uint8Array, dt: DtypeInfo, count: number, bigEndian: boolean): NdData {
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (dt.size > 1 && bigEndian === HOST_LE) {
    for (let o = 0; o < copy.length; o += dt.size) copy.subarray(o, o + dt.size).reverse();
  }
  if (dt.name === 'int64' || dt.name === 'uint64') {
    const src = dt.name === 'int64' ? new BigInt64Array(copy.buffer) : new BigUint64Array(copy.buffer);
    const out = new Float64Array(count);
    for (let k = 0; k < count; k++) out[k] = Number(src[k]);
    return out;
  }
  const out = new TYPED[dt.name](copy.buffer);
  if (dt.name === 'bool') for (let k = 0; k < count; k++) out[k] = out[k] ? 1 : 0;
  return out;
}

function scalarFrom(d: PyDtype, raw: Uint8Array, u: Unpickler): number {
  const dt = dtypeInfo(d, u);
  if (raw.length !== dt.size) u.fail(`a ${dt.name} scalar needs ${dt.size} bytes, got ${raw.length}`);
  return convert(raw, dt, 1, d.order === '>')[0];
}

// ---------------------------------------------------------------- the allowed globals

const reconstruct: GlobalImpl = {
  call: (args, u) => {
    const cls = args[0];
    if (!(cls instanceof PyGlobal) || cls.qualified !== 'numpy.ndarray') {
      u.fail(`_reconstruct of ${cls instanceof PyGlobal ? cls.qualified : u.describe(cls ?? null)}: only numpy.ndarray is supported`);
    }
    return u.reconstruct();
  },
};

const frombuffer: GlobalImpl = {
  // numpy.core.numeric._frombuffer(buf, dtype, shape, order)
  call: (args, u) => {
    const [buf, dtype, shape, order] = args;
    return u.makeArray(u.shape(shape ?? null), dtype ?? null, order !== undefined && u.text(order, 'order') === 'F', u.raw(buf ?? null, 'array data'));
  },
};

const scalar: GlobalImpl = {
  // numpy.core.multiarray.scalar(dtype, raw bytes)
  call: (args, u) => {
    const [d, raw] = args;
    if (!(d instanceof PyDtype)) return u.fail(`scalar() needs a numpy.dtype, got ${u.describe(d ?? null)}`);
    return scalarFrom(d, u.raw(raw ?? null, 'scalar data'), u);
  },
};

const bytesLike: GlobalImpl = {
  // bytes() / bytes(list of ints) / bytes(text, encoding); never bytes(n), which would allocate n bytes
  call: (args, u) => {
    if (args.length === 0) return new Uint8Array(0);
    const [a, enc] = args;
    if (typeof a === 'string' && enc !== undefined) return u.encode(a, u.text(enc, 'encoding'));
    if (Array.isArray(a)) {
      return Uint8Array.from(a, (x) => (typeof x === 'number' && x >= 0 && x < 256 ? x : u.fail(`bytes() of ${u.describe(x)}`)));
    }
    if (a instanceof Uint8Array || a instanceof Py2Str) return u.raw(a, 'bytes');
    return u.fail(`bytes() of ${u.describe(a ?? null)} is not supported`);
  },
};

const setLike: GlobalImpl = {
  call: (args, u) => {
    const items = args[0] ?? [];
    if (!Array.isArray(items)) return u.fail(`set() of ${u.describe(items)} is not supported`);
    return new Set(items.map((v) => (v instanceof Py2Str ? v.text() : v === null || typeof v !== 'object' ? v : u.fail(`${u.describe(v)} as a set item is not supported`))));
  },
};

const orderedDict: GlobalImpl = {
  call: (args, u) => {
    const m = new Map<PickleKey, Value>();
    const items = args[0];
    if (Array.isArray(items)) {
      for (const pair of items) {
        if (!Array.isArray(pair) || pair.length !== 2) return u.fail('OrderedDict() items should be (key, value) pairs');
        const [k, v] = pair;
        if (k !== null && typeof k === 'object' && !(k instanceof Py2Str)) return u.fail(`${u.describe(k)} as a dict key is not supported`);
        m.set(k instanceof Py2Str ? k.text() : k, v);
      }
    }
    return m;
  },
  newobj: () => new Map<PickleKey, Value>(),
};

const GLOBALS: Record<string, GlobalImpl> = {
  'numpy.core.multiarray._reconstruct': reconstruct,
  'numpy._core.multiarray._reconstruct': reconstruct,
  'numpy.ndarray': {},
  'numpy.dtype': { call: (args, u) => u.dtype(u.text(args[0] ?? null, 'dtype code')) },
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
  'numpy.core.numeric._frombuffer': frombuffer,
  'numpy._core.numeric._frombuffer': frombuffer,
  '_codecs.encode': {
    call: (args, u) => {
      const [text, encoding] = args;
      return u.encode(u.text(text ?? null, 'text'), encoding === undefined ? 'utf-8' : u.text(encoding, 'encoding'));
    },
  },
  'builtins.bytes': bytesLike,
  '__builtin__.bytes': bytesLike,
  'builtins.bytearray': bytesLike,
  '__builtin__.bytearray': bytesLike,
  'builtins.set': setLike,
  '__builtin__.set': setLike,
  'builtins.frozenset': setLike,
  '__builtin__.frozenset': setLike,
  'collections.OrderedDict': orderedDict,
};

// ---------------------------------------------------------------- text and numbers

function normalize(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Two's-complement little-endian integer (LONG1/LONG4), in time linear in its length. */
function littleSigned(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return normalize(v);
}

/** What Python's float() reads: decimals with an optional exponent, inf, infinity, nan (no hex). */
const PY_FLOAT = /^[+-]?((\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(e[+-]?\d[\d_]*)?|inf(inity)?|nan)$/i;

function parsePyFloat(s: string, u: Unpickler): number {
  if (!PY_FLOAT.test(s)) u.fail(`${JSON.stringify(s)} is not a float`);
  const t = s.toLowerCase().replace(/_/g, '').replace(/^\+/, '');
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  return Number(t);
}

/** A Python 2 str repr ('...' or "...") as bytes. */
function decodePyRepr(s: string, u: Unpickler): Uint8Array {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) u.fail(`${JSON.stringify(s)} is not a quoted string`);
  const body = s.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34 };
  for (let k = 0; k < body.length; k++) {
    const ch = body.charCodeAt(k);
    if (ch !== 92 || k === body.length - 1) {
      out.push(ch & 0xff);
      continue;
    }
    const e = body[++k];
    if (e in simple) out.push(simple[e]);
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(k + 1, k + 3))) {
      out.push(parseInt(body.slice(k + 1, k + 3), 16));
      k += 2;
    } else if (/[0-7]/.test(e)) {
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(body[k + 1] ?? '')) digits += body[++k];
      out.push(parseInt(digits, 8) & 0xff);
    } else if (e === '\n') {
      // line continuation
    } else {
      out.push(92, e.charCodeAt(0) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** Python's raw-unicode-escape: Latin-1 text in which only \uXXXX and \UXXXXXXXX are escapes. */
function decodeRawUnicodeEscape(s: string, u: Unpickler): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (escape: string, u4: string | undefined, u8: string | undefined) => {
    const code = parseInt((u4 ?? u8) as string, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : u.fail(`${escape} is not a Unicode character`);
  });
}
