/** Builds FIF bytes tag by tag (big-endian), for the cases the real and MNE-written files lack. */
export class FifBytes {
  private readonly chunks: Uint8Array[] = [];
  private readonly entries: { kind: number; type: number; size: number; pos: number }[] = [];
  private length = 0;
  private dirPointerAt = -1;
  private dirPos = -1;

  constructor() {
    this.tag(100, 31, new Uint8Array(20));
    this.dirPointerAt = this.length;
    this.ints(101, -1);
  }

  tag(kind: number, type: number, data: Uint8Array, next = 0): this {
    const head = new DataView(new ArrayBuffer(16));
    head.setInt32(0, kind, false);
    head.setUint32(4, type, false);
    head.setInt32(8, data.length, false);
    head.setInt32(12, next, false);
    this.entries.push({ kind, type, size: data.length, pos: this.length });
    this.chunks.push(new Uint8Array(head.buffer), data);
    this.length += 16 + data.length;
    return this;
  }

  ints(kind: number, ...values: number[]): this {
    const d = new DataView(new ArrayBuffer(4 * values.length));
    values.forEach((v, i) => d.setInt32(4 * i, v, false));
    return this.tag(kind, 3, new Uint8Array(d.buffer));
  }

  float(kind: number, value: number): this {
    const d = new DataView(new ArrayBuffer(4));
    d.setFloat32(0, value, false);
    return this.tag(kind, 4, new Uint8Array(d.buffer));
  }

  start(block: number): this {
    return this.ints(104, block);
  }

  end(block: number): this {
    return this.ints(105, block);
  }

  channel(ch: { name: string; kind: number; unit: number; coil: number; range?: number; cal?: number; loc?: number[] }): this {
    const d = new DataView(new ArrayBuffer(96));
    d.setInt32(0, 1, false);
    d.setInt32(4, 1, false);
    d.setInt32(8, ch.kind, false);
    d.setFloat32(12, ch.range ?? 1, false);
    d.setFloat32(16, ch.cal ?? 1, false);
    d.setInt32(20, ch.coil, false);
    (ch.loc ?? []).forEach((v, i) => d.setFloat32(24 + 4 * i, v, false));
    d.setInt32(72, ch.unit, false);
    d.setInt32(76, 0, false);
    const bytes = new Uint8Array(d.buffer);
    bytes.set(new TextEncoder().encode(ch.name), 80);
    return this.tag(203, 30, bytes);
  }

  shorts(kind: number, type: number, values: number[]): this {
    const d = new DataView(new ArrayBuffer(2 * values.length));
    values.forEach((v, i) => d.setInt16(2 * i, v, false));
    return this.tag(kind, type, new Uint8Array(d.buffer));
  }

  /** Appends a directory of every tag so far and points the file's directory pointer at it. */
  directory(): this {
    const dirPos = this.length;
    const list = [...this.entries, { kind: 102, type: 32, size: 16 * (this.entries.length + 1), pos: dirPos }];
    const d = new DataView(new ArrayBuffer(16 * list.length));
    list.forEach((e, i) => {
      d.setInt32(16 * i, e.kind, false);
      d.setUint32(16 * i + 4, e.type, false);
      d.setInt32(16 * i + 8, e.size, false);
      d.setInt32(16 * i + 12, e.pos, false);
    });
    this.tag(102, 32, new Uint8Array(d.buffer), -1);
    this.pointDirectoryAt(dirPos);
    return this;
  }

  pointDirectoryAt(pos: number): this {
    this.dirPos = pos;
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    new DataView(out.buffer).setInt32(this.dirPointerAt + 16, this.dirPos, false);
    return out;
  }
}

/** Two channels (a MEG channel whose unit is neither T nor T/m, and a stim channel), 3-sample DAU_PACK16 buffers. */
export function smallFif(opts: { leadingSkip?: number; middleSkip?: number; directory?: boolean; dirPointer?: number }): Uint8Array {
  const f = new FifBytes().start(100).start(101).ints(200, 2).float(201, 100);
  f.channel({ name: 'MEG 0113', kind: 1, unit: 107, coil: 3012, range: 2, cal: 0.5 });
  f.channel({ name: 'STI 014', kind: 3, unit: 107, coil: 0 });
  f.end(101).start(102).ints(208, 10);
  if (opts.leadingSkip) f.ints(301, opts.leadingSkip);
  f.shorts(300, 16, [1, 0, 2, 3, 3, 3]);
  if (opts.middleSkip) f.ints(301, opts.middleSkip);
  f.shorts(300, 16, [-4, 0, 5, 0, 6, 1]);
  f.end(102).end(100);
  if (opts.directory) f.directory();
  if (opts.dirPointer !== undefined) f.pointDirectoryAt(opts.dirPointer);
  return f.bytes();
}
