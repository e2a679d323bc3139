import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Gap } from '../../src/stream/losses.js';
import type { Recording } from '../../src/stream/recording.js';
import type { ChannelInfo, ChannelType, Marker, StreamInfo } from '../../src/stream/types.js';
import { refuseAllocation } from './read-limits.js';

/**
 * Reader of MNE / Neuromag (Elekta, MEGIN) FIF raw files: `*_raw.fif`, `*_raw_sss.fif`,
 * `*_raw_tsss.fif`, and unprocessed MaxShield (internal active shielding) recordings.
 *
 * FIF in short: a file is a sequence of tags, each a 16-byte big-endian header (kind, type, size in
 * bytes of the data that follows, next) and its data. `next` is 0 when the next tag follows
 * directly, -1 after the last tag, or the byte position of the next tag. Tags of kind
 * FIFF_BLOCK_START / FIFF_BLOCK_END (data: the block kind) nest the tags into a tree: the
 * measurement block holds the measurement info block (sampling rate, channel count, one channel
 * record per channel) and the raw data block (first sample, then data buffers). The file's second
 * tag may point at a directory of all tags (kind, type, size, position); without one the tags are
 * walked one by one.
 *
 * What we return matches MNE-Python's `read_raw_fif(fname, preload=True, allow_maxshield=True)`
 * without projections:
 * - values = stored value * range * cal of the channel (MNE's `_cals`; `unit_mul` is not applied,
 *   as MNE does not apply it), in SI units: T for magnetometers, T/m for planar gradiometers, V for
 *   EEG/EOG/ECG/EMG (not microvolts: `ChannelInfo.unit` says "T", "T/m" or "V"); stim channels keep
 *   their raw trigger values (unit "");
 * - buffers stored as short (also the DAU_PACK16 flavour), int, float or double; a FIFF_DATA_SKIP
 *   of n buffers becomes n times the next buffer's sample count of zeros (MNE annotates these
 *   stretches BAD_ACQ_SKIP: see `skips`, and `gaps`, which report them as losses), except a skip
 *   right after the first-sample tag, which moves the first sample instead;
 * - `firstSample` is MNE's `raw.first_samp`: the index of the first stored sample counted from the
 *   start of the acquisition (sample times in this recording start at 0 regardless);
 * - channel types follow MNE's `channel_type`: kind MEG with unit T/m is 'grad', with unit T is
 *   'mag' (a MEG channel with another unit falls back on its coil type: planar coils are 'grad',
 *   others 'mag'); EEG, stim, EOG, ECG, EMG, respiration and misc map to their names; kinds our
 *   stream model has no type for (reference MEG, IAS, system, exci, cHPI, sEEG, ...) are 'misc',
 *   with MNE's own type name in `channelRecords[i].mneType`;
 * - events: MNE's `find_events(raw, stim_channel=..., shortest_event=1)` with its defaults
 *   (consecutive='increasing'): every step of the trigger channel (values truncated to integers, as
 *   absolute values if any is negative) to a higher value is an event whose code is the new value,
 *   so a pulse held for several samples is one event, a step from one code up to a higher one
 *   without returning to 0 is a new event, and a step down to a lower non-zero code is not; a
 *   non-zero first sample is not an event. The trigger channel is STI101 (the combined channel of
 *   newer Neuromag systems), else 'STI 014', else STI014, else the first stim channel, the order of
 *   MNE's default stim channel lookup (which would use all stim channels in the last case). Each
 *   event is also a marker: time = (sample - firstSample) / sfreq, value = the code as a string.
 *
 * Damage: an error names the byte offset and the tag kind where the file stops making sense. Skips
 * and buffers may not make the recording hold much more than the file stores (see read-limits.ts);
 * a calibration (range * cal) that is not a finite number is an error naming the channel. A file
 * cut inside the raw data keeps every complete data buffer and says what was dropped in `warnings`
 * (the buffers are not split); a file cut before its first complete buffer, or inside the
 * measurement info, is an error.
 *
 * Not read: projections (SSP), compensation, digitisation points, MNE annotations stored in the
 * file, continuation files of a split recording (a warning names them).
 */
export interface FifReadOptions {
  /** Name used in messages and as the stream's sourceId; defaults to the file path. */
  readonly source?: string;
  /** Trigger channel for `events`; default STI101 / 'STI 014' / STI014 / first stim; null: no events. */
  readonly stimChannel?: string | null;
}

/** One channel record of the measurement info (FIFF_CH_INFO, possibly extended by FIFFB_CH_INFO). */
export interface FifChannel {
  readonly name: string;
  readonly scanno: number;
  readonly logno: number;
  /** FIFF channel kind: 1 MEG, 2 EEG, 3 stim, 202 EOG, 302 EMG, 402 ECG, 502 misc, ... */
  readonly kind: number;
  readonly range: number;
  readonly cal: number;
  /** Coil type (3012 Vectorview planar gradiometer, 3024 magnetometer, 1 EEG electrode, ...). */
  readonly coilType: number;
  /** 12 numbers: position (0-2), then for MEG the coil's orientation (ex, ey, ez unit vectors). */
  readonly loc: readonly number[];
  /** FIFF unit code: 112 T, 201 T/m, 107 V, ... */
  readonly unit: number;
  /** Power of ten of the unit, as stored (not applied to the data, as MNE does not). */
  readonly unitMul: number;
  /** The channel type MNE's `channel_type` gives ('grad', 'mag', 'ref_meg', 'ias', ...). */
  readonly mneType: string;
}

/** An event found on the trigger channel, as a row of MNE's events array. */
export interface FifEvent {
  /** Sample index counted like MNE's events: includes `firstSample`. */
  readonly sample: number;
  /** Trigger value before the step. */
  readonly previous: number;
  /** Trigger value after the step: the event code. */
  readonly value: number;
}

/** A stretch the acquisition skipped (FIFF_DATA_SKIP), filled with zeros. */
export interface FifSkip {
  /** First zero-filled sample, counted from the recording's first sample. */
  readonly start: number;
  readonly samples: number;
}

export type Position3d = readonly [number, number, number];

export interface FifRecording extends Recording {
  /** MNE's `raw.first_samp`. */
  readonly firstSample: number;
  /** Per channel, the first three numbers of `loc`: the sensor position in metres (MEG: device coordinates; EEG: head coordinates). */
  readonly positions3d: readonly Position3d[];
  readonly events: readonly FifEvent[];
  /** Name of the channel the events come from; undefined when there is none. */
  readonly stimChannel?: string;
  readonly channelRecords: readonly FifChannel[];
  /** FIFF_MEAS_DATE: start of the acquisition (sample 0, `firstSample` samples before ours); `startDate` is our first sample's time. */
  readonly measDate?: Date;
  /** Channels the file marks bad (MNE's `info['bads']`). */
  readonly bads: readonly string[];
  readonly skips: readonly FifSkip[];
  /** True for unprocessed internal active shielding data (FIFFB_IAS_RAW_DATA). */
  readonly maxshield: boolean;
  /** Storage type of the first data buffer, MNE's `orig_format`. */
  readonly dataFormat: 'short' | 'int' | 'single' | 'double';
  /** Things that were wrong or unusual but readable. */
  readonly warnings: readonly string[];
  /** The acquisition skips (`skips`) as losses: stretches the file holds as zeros. */
  readonly gaps: readonly Gap[];
}

export class FifFormatError extends Error {
  constructor(
    readonly source: string,
    readonly offset: number,
    readonly kind: number | undefined,
    detail: string,
  ) {
    super(`${source}: ${kind === undefined ? '' : `tag ${kindLabel(kind)} `}at byte ${offset}: ${detail}`);
    this.name = 'FifFormatError';
  }
}

export async function readFif(file: string, opts: FifReadOptions = {}): Promise<FifRecording> {
  const buf = await readFile(file);
  return parseFif(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { ...opts, source: opts.source ?? file });
}

// ---- FIFF constants (the subset this reader needs) ----

const K = {
  FILE_ID: 100,
  DIR_POINTER: 101,
  DIR: 102,
  BLOCK_START: 104,
  BLOCK_END: 105,
  REF_ROLE: 115,
  REF_FILE_NAME: 118,
  NCHAN: 200,
  SFREQ: 201,
  CH_INFO: 203,
  MEAS_DATE: 204,
  FIRST_SAMPLE: 208,
  DATA_BUFFER: 300,
  DATA_SKIP: 301,
  DATA_SKIP_SAMP: 303,
  CH_SCAN_NO: 250,
  CH_LOGICAL_NO: 251,
  CH_KIND: 252,
  CH_RANGE: 253,
  CH_CAL: 254,
  CH_LOC: 255,
  CH_UNIT: 256,
  CH_UNIT_MUL: 257,
  CH_DACQ_NAME: 258,
  CH_COIL_TYPE: 350,
  CH_COORD_FRAME: 351,
  MNE_CH_NAME_LIST: 3507,
} as const;

const B = {
  MEAS: 100,
  MEAS_INFO: 101,
  RAW_DATA: 102,
  CONTINUOUS_DATA: 112,
  CH_INFO: 113,
  REF: 118,
  IAS_RAW_DATA: 119,
  MNE_BAD_CHANNELS: 359,
  MNE_ANNOTATIONS: 3810,
} as const;

const T = {
  SHORT: 2,
  INT: 3,
  FLOAT: 4,
  DOUBLE: 5,
  STRING: 10,
  DAU_PACK16: 16,
  COMPLEX_FLOAT: 20,
  COMPLEX_DOUBLE: 21,
  CH_INFO_STRUCT: 30,
  ID_STRUCT: 31,
  DIR_ENTRY_STRUCT: 32,
} as const;

const KIND_NAMES: Record<number, string> = {
  100: 'FIFF_FILE_ID',
  101: 'FIFF_DIR_POINTER',
  102: 'FIFF_DIR',
  103: 'FIFF_BLOCK_ID',
  104: 'FIFF_BLOCK_START',
  105: 'FIFF_BLOCK_END',
  106: 'FIFF_FREE_LIST',
  108: 'FIFF_NOP',
  110: 'FIFF_PARENT_BLOCK_ID',
  200: 'FIFF_NCHAN',
  201: 'FIFF_SFREQ',
  203: 'FIFF_CH_INFO',
  204: 'FIFF_MEAS_DATE',
  208: 'FIFF_FIRST_SAMPLE',
  300: 'FIFF_DATA_BUFFER',
  301: 'FIFF_DATA_SKIP',
  302: 'FIFF_EPOCH',
  303: 'FIFF_DATA_SKIP_SAMP',
};

function kindLabel(kind: number): string {
  const name = KIND_NAMES[kind];
  return name ? `${kind} (${name})` : String(kind);
}

const RAW_BLOCKS: readonly number[] = [B.RAW_DATA, B.CONTINUOUS_DATA, B.IAS_RAW_DATA];

/** FIFF unit codes to symbols. */
const UNIT_SYMBOLS: Record<number, string> = {
  [-1]: '',
  0: '',
  1: 'm',
  2: 'kg',
  3: 's',
  4: 'A',
  5: 'K',
  6: 'mol',
  7: 'rad',
  8: 'sr',
  9: 'cd',
  10: 'mol/m^3',
  101: 'Hz',
  102: 'N',
  103: 'Pa',
  104: 'J',
  105: 'W',
  106: 'C',
  107: 'V',
  108: 'F',
  109: 'Ohm',
  110: 'S',
  111: 'Wb',
  112: 'T',
  113: 'H',
  114: 'degC',
  115: 'lm',
  116: 'lx',
  117: 'V/m^2',
  201: 'T/m',
  202: 'Am',
  203: 'Am/m^2',
  204: 'Am/m^3',
};
const UNIT_T = 112;
const UNIT_T_M = 201;

/** FIFF channel kinds to MNE's first-level type names (pick.py's `_first_rule`). */
const MNE_KIND_TYPES: Record<number, string> = {
  1: 'meg',
  301: 'ref_meg',
  2: 'eeg',
  3: 'stim',
  202: 'eog',
  302: 'emg',
  402: 'ecg',
  602: 'resp',
  502: 'misc',
  920: 'exci',
  910: 'ias',
  900: 'syst',
  802: 'seeg',
  803: 'dbs',
  102: 'bio',
  700: 'chpi',
  701: 'chpi',
  702: 'chpi',
  703: 'chpi',
  704: 'chpi',
  705: 'chpi',
  706: 'chpi',
  707: 'chpi',
  708: 'chpi',
  709: 'chpi',
  1000: 'dipole',
  1001: 'gof',
  902: 'ecog',
  1100: 'fnirs',
  1200: 'temperature',
  1300: 'gsr',
};

const STREAM_TYPES: Record<string, ChannelType> = {
  mag: 'mag',
  grad: 'grad',
  eeg: 'eeg',
  stim: 'stim',
  eog: 'eog',
  emg: 'emg',
  ecg: 'ecg',
  resp: 'resp',
  misc: 'misc',
};

/** Planar gradiometer coil types (Neuromag 122, Vectorview/TRIUX, KIT/Yokogawa planar, ...). */
const PLANAR_COILS = new Set([2, 3011, 3012, 3013, 3014, 3015, 6002]);

// ---- tags ----

interface Tag {
  readonly kind: number;
  /** Unsigned: matrix types set the high bits. */
  readonly type: number;
  readonly size: number;
  readonly next: number;
  /** Byte offset of the tag header; the data starts 16 bytes later. */
  readonly pos: number;
}

/** Where the tag walk stopped because the file ends inside a tag. */
interface Cut {
  readonly pos: number;
  readonly kind: number | undefined;
  readonly detail: string;
}

class Reader {
  readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly source: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(tag: Pick<Tag, 'pos'> & { kind?: number }, detail: string): never {
    throw new FifFormatError(this.source, tag.pos, tag.kind, detail);
  }

  header(pos: number): Tag {
    const v = this.view;
    return { kind: v.getInt32(pos, false), type: v.getUint32(pos + 4, false), size: v.getInt32(pos + 8, false), next: v.getInt32(pos + 12, false), pos };
  }

  /** Checks that a tag's data lies inside the file. */
  fits(tag: Tag): boolean {
    return tag.pos + 16 + tag.size <= this.buf.length;
  }

  int(tag: Tag, index = 0): number {
    if (tag.type !== T.INT) this.fail(tag, `expected an int (type ${T.INT}), found type ${tag.type}`);
    if (tag.size < 4 * (index + 1)) this.fail(tag, `expected at least ${4 * (index + 1)} data bytes, found ${tag.size}`);
    return this.view.getInt32(tag.pos + 16 + 4 * index, false);
  }

  real(tag: Tag): number {
    if (tag.type === T.FLOAT && tag.size >= 4) return this.view.getFloat32(tag.pos + 16, false);
    if (tag.type === T.DOUBLE && tag.size >= 8) return this.view.getFloat64(tag.pos + 16, false);
    return this.fail(tag, `expected a float or double, found type ${tag.type} with ${tag.size} data bytes`);
  }

  string(tag: Tag): string {
    if (tag.type !== T.STRING) this.fail(tag, `expected a string (type ${T.STRING}), found type ${tag.type}`);
    return new TextDecoder('utf-8').decode(this.buf.subarray(tag.pos + 16, tag.pos + 16 + tag.size)).replace(/\0+$/, '');
  }
}

/**
 * The tags in file order. With a usable directory (FIFF_DIR_POINTER > 0) the directory lists them,
 * as MNE reads it; otherwise (pointer -1, as MNE and MaxFilter write most raw files, or a pointer
 * past the end of a truncated file) the tags are walked from the start through their `next` fields.
 */
function listTags(r: Reader, warnings: string[]): { tags: Tag[]; cut?: Cut } {
  const { buf, source } = r;
  if (buf.length < 16) {
    throw new FifFormatError(source, 0, undefined, `not a FIF file: ${buf.length} bytes, shorter than one 16-byte tag header`);
  }
  const first = r.header(0);
  if (first.kind !== K.FILE_ID || first.type !== T.ID_STRUCT || first.size !== 20) {
    throw new FifFormatError(
      source,
      0,
      undefined,
      `not a FIF file: the first tag must be the file id (kind ${K.FILE_ID}, type ${T.ID_STRUCT}, size 20), found kind ${first.kind}, type ${first.type}, size ${first.size}`,
    );
  }
  const secondPos = 36;
  if (buf.length < secondPos + 20) throw new FifFormatError(source, secondPos, undefined, `the file ends before the directory pointer tag (file size ${buf.length})`);
  const second = r.header(secondPos);
  if (second.kind !== K.DIR_POINTER) r.fail(second, `expected the directory pointer (kind ${K.DIR_POINTER}) as the second tag`);
  const dirPos = r.int(second);
  if (dirPos > 0) {
    const fromDir = readDirectory(r, dirPos, warnings);
    if (fromDir) return { tags: fromDir };
  }
  return walkTags(r);
}

function readDirectory(r: Reader, dirPos: number, warnings: string[]): Tag[] | undefined {
  const { buf, source } = r;
  const fallBack = (why: string): undefined => {
    warnings.push(`${source}: the tag directory (pointer: byte ${dirPos}) ${why}; walked the tags one by one instead`);
    return undefined;
  };
  if (dirPos + 16 > buf.length) return fallBack(`lies past the end of the file (${buf.length} bytes), which looks truncated`);
  const dir = r.header(dirPos);
  if (dir.kind !== K.DIR || dir.type !== T.DIR_ENTRY_STRUCT || dir.size < 0 || dir.size % 16 !== 0) {
    return fallBack(`is not a directory tag (found kind ${dir.kind}, type ${dir.type}, size ${dir.size})`);
  }
  if (!r.fits(dir)) return fallBack(`is cut by the end of the file`);
  const tags: Tag[] = [];
  for (let at = dirPos + 16; at < dirPos + 16 + dir.size; at += 16) {
    const entry = { kind: r.view.getInt32(at, false), type: r.view.getUint32(at + 4, false), size: r.view.getInt32(at + 8, false), pos: r.view.getInt32(at + 12, false) };
    if (entry.pos < 0 || entry.size < 0 || entry.pos + 16 + entry.size > buf.length) {
      return fallBack(`entry at byte ${at} (kind ${entry.kind}) points outside the file (tag at byte ${entry.pos}, ${entry.size} data bytes)`);
    }
    const actual = r.header(entry.pos);
    if (actual.kind !== entry.kind || actual.size !== entry.size) {
      return fallBack(`entry at byte ${at} says kind ${entry.kind}, size ${entry.size} at byte ${entry.pos}, but the tag there has kind ${actual.kind}, size ${actual.size}`);
    }
    tags.push(actual);
  }
  return tags;
}

function walkTags(r: Reader): { tags: Tag[]; cut?: Cut } {
  const { buf } = r;
  const tags: Tag[] = [];
  const seen = new Set<number>();
  let pos = 0;
  for (;;) {
    if (pos === buf.length) return { tags }; // ends without a NEXT_NONE tag: fine, as for MNE
    if (pos + 16 > buf.length) {
      const kind = pos + 4 <= buf.length ? r.view.getInt32(pos, false) : undefined;
      return { tags, cut: { pos, kind, detail: `the file ends inside the tag header (${buf.length - pos} of 16 bytes present)` } };
    }
    const tag = r.header(pos);
    if (tag.size < 0) r.fail(tag, `negative data size ${tag.size} (corrupt tag header)`);
    if (tag.next < -1) r.fail(tag, `invalid next-tag pointer ${tag.next} (corrupt tag header)`);
    if (!r.fits(tag)) {
      return { tags, cut: { pos, kind: tag.kind, detail: `needs ${tag.size} data bytes but the file ends at byte ${buf.length} (${buf.length - pos - 16} present)` } };
    }
    seen.add(pos);
    tags.push(tag);
    if (tag.next === -1) return { tags };
    const nextPos = tag.next === 0 ? pos + 16 + tag.size : tag.next;
    if (nextPos > buf.length) r.fail(tag, `next-tag pointer ${nextPos} lies past the end of the file (${buf.length} bytes)`);
    if (seen.has(nextPos)) r.fail(tag, `next-tag pointer ${nextPos} points back at a tag already read (corrupt file)`);
    pos = nextPos;
  }
}

// ---- block tree ----

interface FifNode {
  readonly block: number;
  /** Offset of the FIFF_BLOCK_START tag (0 for the root). */
  readonly pos: number;
  /** Tags directly in this block, block start/end tags excluded. */
  readonly tags: Tag[];
  readonly children: FifNode[];
}

/** Blocks nested deeper than this are a corrupt file (real files nest a handful). */
const MAX_BLOCK_DEPTH = 64;

function buildTree(r: Reader, tags: readonly Tag[], warnings: string[]): { root: FifNode; open: FifNode[] } {
  const root: FifNode = { block: 0, pos: 0, tags: [], children: [] };
  const stack: FifNode[] = [root];
  for (const tag of tags) {
    const top = stack[stack.length - 1];
    if (tag.kind === K.BLOCK_START) {
      if (stack.length > MAX_BLOCK_DEPTH) r.fail(tag, `blocks nested more than ${MAX_BLOCK_DEPTH} deep (corrupt file)`);
      const node: FifNode = { block: r.int(tag), pos: tag.pos, tags: [], children: [] };
      top.children.push(node);
      stack.push(node);
    } else if (tag.kind === K.BLOCK_END) {
      const block = r.int(tag);
      if (stack.length === 1) r.fail(tag, `ends block ${block} but no block is open`);
      // Like MNE, an end tag closes the innermost open block whatever kind it names.
      if (block !== top.block) warnings.push(`${r.source}: the block end at byte ${tag.pos} names block ${block}, but the open block is ${top.block} (started at byte ${top.pos}); closed it`);
      stack.pop();
    } else {
      top.tags.push(tag);
    }
  }
  return { root, open: stack.slice(1) };
}

function findBlocks(node: FifNode, block: number, out: FifNode[] = []): FifNode[] {
  if (node.block === block) out.push(node);
  for (const child of node.children) findBlocks(child, block, out);
  return out;
}

// ---- measurement info ----

interface MeasInfo {
  readonly node: FifNode;
  readonly sfreq: number;
  readonly channels: FifChannel[];
  readonly measDate?: Date;
}

function readChannelRecord(r: Reader, tag: Tag): Omit<FifChannel, 'mneType'> {
  if (tag.type !== T.CH_INFO_STRUCT || tag.size < 96) r.fail(tag, `expected a channel record (type ${T.CH_INFO_STRUCT}, 96 bytes), found type ${tag.type} with ${tag.size} bytes`);
  const v = r.view;
  const at = tag.pos + 16;
  const loc: number[] = [];
  for (let i = 0; i < 12; i++) loc.push(v.getFloat32(at + 24 + 4 * i, false));
  const nameBytes = r.buf.subarray(at + 80, at + 96);
  const nul = nameBytes.indexOf(0);
  return {
    scanno: v.getInt32(at, false),
    logno: v.getInt32(at + 4, false),
    kind: v.getInt32(at + 8, false),
    range: v.getFloat32(at + 12, false),
    cal: v.getFloat32(at + 16, false),
    coilType: v.getInt32(at + 20, false),
    loc,
    unit: v.getInt32(at + 72, false),
    unitMul: v.getInt32(at + 76, false),
    name: new TextDecoder('utf-8').decode(nul >= 0 ? nameBytes.subarray(0, nul) : nameBytes),
  };
}

/** MNE's channel_type(). */
function mneTypeOf(ch: Omit<FifChannel, 'mneType'>): string {
  const first = MNE_KIND_TYPES[ch.kind];
  if (first === undefined) return `kind ${ch.kind}`;
  if (first !== 'meg') return first;
  if (ch.unit === UNIT_T_M) return 'grad';
  if (ch.unit === UNIT_T) return 'mag';
  return PLANAR_COILS.has(ch.coilType) ? 'grad' : 'mag';
}

function readMeasInfo(r: Reader, meas: FifNode, warnings: string[]): MeasInfo {
  const infos = findBlocks(meas, B.MEAS_INFO);
  if (infos.length === 0) r.fail(meas, 'the measurement block has no measurement info block (FIFFB_MEAS_INFO)');
  if (infos.length > 1) warnings.push(`${r.source}: ${infos.length} measurement info blocks; read the first (byte ${infos[0].pos})`);
  const node = infos[0];
  let nchan: number | undefined;
  let sfreq: number | undefined;
  let measDate: Date | undefined;
  const records: Omit<FifChannel, 'mneType'>[] = [];
  for (const tag of node.tags) {
    if (tag.kind === K.NCHAN) nchan = r.int(tag);
    else if (tag.kind === K.SFREQ) sfreq = r.real(tag);
    else if (tag.kind === K.CH_INFO) records.push(readChannelRecord(r, tag));
    else if (tag.kind === K.MEAS_DATE) {
      const secs = r.int(tag, 0);
      const usecs = tag.size >= 8 ? r.int(tag, 1) : 0;
      measDate = new Date(secs * 1000 + usecs / 1000);
    }
  }
  const where = { pos: node.pos, kind: K.BLOCK_START };
  if (nchan === undefined) r.fail(where, 'the measurement info block has no channel count (FIFF_NCHAN)');
  if (sfreq === undefined) r.fail(where, 'the measurement info block has no sampling rate (FIFF_SFREQ)');
  if (!(sfreq > 0) || !Number.isFinite(sfreq)) r.fail(where, `invalid sampling rate ${sfreq}`);
  if (!(nchan > 0)) r.fail(where, `invalid channel count ${nchan}`);
  if (records.length !== nchan) r.fail(where, `FIFF_NCHAN says ${nchan} channels but the block holds ${records.length} channel records (FIFF_CH_INFO)`);
  applyExtendedChannelInfo(r, node, records);

  const unitMul = records.filter((c) => c.unitMul !== 0);
  if (unitMul.length > 0) {
    warnings.push(`${r.source}: ${unitMul.length} channel(s) (first: ${unitMul[0].name}) state a unit multiplier 10^${unitMul[0].unitMul}; not applied, as MNE does not apply it`);
  }
  const channels = records.map((c) => ({ ...c, mneType: mneTypeOf(c) }));
  const unknown = channels.filter((c) => MNE_KIND_TYPES[c.kind] === undefined);
  if (unknown.length > 0) warnings.push(`${r.source}: ${unknown.length} channel(s) of unknown kind (first: ${unknown[0].name}, kind ${unknown[0].kind}) typed 'misc'`);
  return { node, sfreq, channels, measDate };
}

/** FIFFB_CH_INFO blocks (one per channel, in order) override channel record fields; MNE writes them for names longer than 15 characters. */
function applyExtendedChannelInfo(r: Reader, info: FifNode, records: Omit<FifChannel, 'mneType'>[]): void {
  const blocks = findBlocks(info, B.CH_INFO);
  if (blocks.length === 0) return;
  if (blocks.length !== records.length) r.fail({ pos: blocks[0].pos, kind: K.BLOCK_START }, `${blocks.length} extended channel info blocks for ${records.length} channels`);
  blocks.forEach((block, i) => {
    const ch: { -readonly [P in keyof Omit<FifChannel, 'mneType'>]: Omit<FifChannel, 'mneType'>[P] } = { ...records[i] };
    for (const tag of block.tags) {
      switch (tag.kind) {
        case K.CH_SCAN_NO:
          ch.scanno = r.int(tag);
          break;
        case K.CH_LOGICAL_NO:
          ch.logno = r.int(tag);
          break;
        case K.CH_KIND:
          ch.kind = r.int(tag);
          break;
        case K.CH_RANGE:
          ch.range = r.real(tag);
          break;
        case K.CH_CAL:
          ch.cal = r.real(tag);
          break;
        case K.CH_COIL_TYPE:
          ch.coilType = r.int(tag);
          break;
        case K.CH_UNIT:
          ch.unit = r.int(tag);
          break;
        case K.CH_UNIT_MUL:
          ch.unitMul = r.int(tag);
          break;
        case K.CH_DACQ_NAME:
          ch.name = r.string(tag);
          break;
        case K.CH_LOC: {
          if (tag.type !== T.FLOAT || tag.size < 48) r.fail(tag, `expected 12 floats, found type ${tag.type} with ${tag.size} bytes`);
          ch.loc = Array.from({ length: 12 }, (_, k) => r.view.getFloat32(tag.pos + 16 + 4 * k, false));
          break;
        }
        default:
          break;
      }
    }
    records[i] = ch;
  });
}

function readBads(r: Reader, node: FifNode, names: readonly string[]): string[] {
  let bads: string[] = [];
  for (const block of findBlocks(node, B.MNE_BAD_CHANNELS)) {
    const tag = block.tags.find((t) => t.kind === K.MNE_CH_NAME_LIST);
    if (tag)
      bads = r
        .string(tag)
        .split(':')
        .filter((n) => n.length > 0);
  }
  const known = new Set(names);
  return bads.filter((b) => known.has(b));
}

// ---- raw data ----

interface BufferEntry {
  /** The data buffer, or the FIFF_DATA_SKIP tag of a skip (zeros). */
  readonly tag: Tag;
  readonly skip: boolean;
  readonly samples: number;
}

const BUFFER_TYPES: Record<number, { bytes: number; format: FifRecording['dataFormat'] }> = {
  [T.DAU_PACK16]: { bytes: 2, format: 'short' },
  [T.SHORT]: { bytes: 2, format: 'short' },
  [T.INT]: { bytes: 4, format: 'int' },
  [T.FLOAT]: { bytes: 4, format: 'single' },
  [T.DOUBLE]: { bytes: 8, format: 'double' },
};

export function parseFif(buf: Uint8Array, opts: FifReadOptions = {}): FifRecording {
  const source = opts.source ?? 'FIF data';
  const r: Reader = new Reader(buf, source);
  const warnings: string[] = [];
  const { tags, cut } = listTags(r, warnings);
  const { root, open } = buildTree(r, tags, warnings);

  const failAtCut: (what: string) => never = (what) => {
    throw new FifFormatError(source, cut!.pos, cut!.kind, `${cut!.detail}; ${what}`);
  };
  const meases = findBlocks(root, B.MEAS);
  if (meases.length === 0) {
    if (cut) failAtCut('the file is truncated before its measurement block');
    throw new FifFormatError(source, 0, undefined, 'no measurement block (FIFFB_MEAS) in the file');
  }
  const meas = meases[0];
  let info: MeasInfo;
  try {
    info = readMeasInfo(r, meas, warnings);
  } catch (err) {
    // A file cut inside its measurement info: name the cut rather than the missing piece.
    if (cut && open.some((n) => n.block === B.MEAS_INFO)) failAtCut('the file is truncated inside the measurement info');
    throw err;
  }
  if (open.some((n) => n.block === B.MEAS_INFO)) {
    if (cut) failAtCut('the file is truncated inside the measurement info');
    r.fail({ pos: info.node.pos, kind: K.BLOCK_START }, 'the measurement info block is never closed (no FIFF_BLOCK_END)');
  }

  // The raw data block: MNE looks for RAW_DATA, then CONTINUOUS_DATA, then IAS_RAW_DATA (MaxShield).
  let rawNode: FifNode | undefined;
  for (const block of RAW_BLOCKS) {
    const found = findBlocks(meas, block);
    if (found.length > 0) {
      rawNode = found[0];
      if (found.length > 1) warnings.push(`${source}: ${found.length} raw data blocks; read the first (byte ${found[0].pos})`);
      break;
    }
  }
  if (!rawNode) {
    if (cut) failAtCut('the file is truncated before its raw data block');
    r.fail({ pos: meas.pos, kind: K.BLOCK_START }, 'the measurement block has no raw data block (FIFFB_RAW_DATA, FIFFB_CONTINUOUS_DATA or FIFFB_IAS_RAW_DATA)');
  }
  const maxshield = rawNode.block === B.IAS_RAW_DATA;
  if (maxshield) {
    warnings.push(`${source}: raw internal active shielding (MaxShield) data not processed by MaxFilter; it may be distorted (MNE needs allow_maxshield=True for it)`);
  }
  const cutInData = cut !== undefined && open.includes(rawNode);
  if (cut && !cutInData) {
    // Cut after the raw data block closed (in a trailing block): the data are whole.
    warnings.push(`${source}: truncated at byte ${cut.pos} (tag ${cut.kind === undefined ? '?' : kindLabel(cut.kind)}: ${cut.detail}) after the raw data; the data are complete`);
  } else if (!cut && open.length > 0) {
    const inner = open[open.length - 1];
    warnings.push(`${source}: the file ends inside ${open.length} unclosed block(s) (innermost: block ${inner.block} started at byte ${inner.pos}); truncated between two tags?`);
  }

  const nchan = info.channels.length;
  const layout = rawLayout(r, rawNode, nchan, warnings);
  if (layout.entries.length === 0) {
    if (cutInData) failAtCut('no complete data buffer before the cut');
    r.fail({ pos: rawNode.pos, kind: K.BLOCK_START }, 'the raw data block holds no data buffer');
  }
  if (cutInData) {
    const kept = layout.entries.filter((e) => !e.skip).length;
    const samples = layout.entries.reduce((n, e) => n + e.samples, 0);
    warnings.push(`${source}: truncated at byte ${cut.pos} (tag ${cut.kind === undefined ? '?' : kindLabel(cut.kind)}: ${cut.detail}); kept the ${kept} complete data buffer(s), ${samples} samples`);
  }

  for (const ref of findBlocks(root, B.REF)) {
    const role = ref.tags.find((t) => t.kind === K.REF_ROLE);
    if (role && r.int(role) === 2) {
      const name = ref.tags.find((t) => t.kind === K.REF_FILE_NAME);
      warnings.push(`${source}: the recording continues in another file${name ? ` (${r.string(name)})` : ''}, which is not read`);
    }
  }
  if (findBlocks(root, B.MNE_ANNOTATIONS).length > 0) warnings.push(`${source}: the file's MNE annotations block is not read`);

  // Decode.
  const cals = info.channels.map((c) => c.range * c.cal);
  const badCal = info.channels.findIndex((_, i) => !Number.isFinite(cals[i]));
  if (badCal >= 0) {
    const c = info.channels[badCal];
    r.fail({ pos: info.node.pos, kind: K.BLOCK_START }, `channel ${badCal + 1} (${c.name}): range ${c.range} * cal ${c.cal} is not a finite number`);
  }
  const zeroCal = info.channels.filter((_, i) => cals[i] === 0);
  if (zeroCal.length > 0) warnings.push(`${source}: ${zeroCal.length} channel(s) (first: ${zeroCal[0].name}) have range * cal = 0 (MNE refuses such files): their values are all 0`);
  const samples = layout.entries.reduce((n, e) => n + e.samples, 0);
  const skipEntries = layout.entries.filter((e) => e.skip);
  const refused = refuseAllocation({
    values: samples * nchan,
    stored: (samples - skipEntries.reduce((n, e) => n + e.samples, 0)) * nchan,
    because: `${skipEntries.length} FIFF_DATA_SKIP tag(s) and the data buffers ask for ${samples} samples of ${nchan} channels`,
  });
  if (refused) r.fail(skipEntries[0]?.tag ?? { pos: rawNode.pos, kind: K.BLOCK_START }, refused);
  const data = new Float32Array(samples * nchan);
  const stimIndex = pickStimChannel(info.channels, opts.stimChannel, source);
  const trigger = stimIndex >= 0 ? new Float64Array(samples) : undefined;
  const skips: FifSkip[] = [];
  let s0 = 0;
  for (const entry of layout.entries) {
    if (entry.skip) {
      skips.push({ start: s0, samples: entry.samples });
    } else {
      decodeBuffer(r, entry.tag, entry.samples, nchan, cals, data, s0, stimIndex, trigger);
    }
    s0 += entry.samples;
  }
  if (skips.length > 0) {
    const total = skips.reduce((n, s) => n + s.samples, 0);
    warnings.push(`${source}: ${skips.length} acquisition skip(s) (FIFF_DATA_SKIP), ${total} samples filled with zeros as MNE does (see skips)`);
  }

  const channels: ChannelInfo[] = info.channels.map((c) => {
    const type = STREAM_TYPES[c.mneType] ?? 'misc';
    return { label: c.name, type, unit: type === 'stim' ? '' : (UNIT_SYMBOLS[c.unit] ?? `unit ${c.unit}`) };
  });
  const events = trigger ? findEvents(trigger, layout.firstSample, (m) => warnings.push(`${source}: ${m}`)) : [];
  const markers: Marker[] = events.map((e) => ({ time: (e.sample - layout.firstSample) / info.sfreq, value: String(e.value), duration: 0 }));
  const hasMeg = channels.some((c) => c.type === 'mag' || c.type === 'grad');
  const streamInfo: StreamInfo = {
    name: path.basename(source),
    type: hasMeg ? 'MEG' : channels.some((c) => c.type === 'eeg') ? 'EEG' : 'misc',
    sourceId: source,
    channels,
    sampleRate: info.sfreq,
  };
  const startDate = info.measDate ? new Date(info.measDate.getTime() + (layout.firstSample / info.sfreq) * 1000) : undefined;
  return {
    info: streamInfo,
    data,
    samples,
    markers,
    ...(startDate ? { startDate } : {}),
    firstSample: layout.firstSample,
    positions3d: info.channels.map((c) => [c.loc[0], c.loc[1], c.loc[2]] as const),
    events,
    ...(stimIndex >= 0 ? { stimChannel: info.channels[stimIndex].name } : {}),
    channelRecords: info.channels,
    ...(info.measDate ? { measDate: info.measDate } : {}),
    bads: readBads(
      r,
      meas,
      info.channels.map((c) => c.name),
    ),
    skips,
    maxshield,
    dataFormat: layout.format,
    warnings,
    gaps: skips.map((k) => ({
      time: k.start / info.sfreq,
      samples: k.samples,
      seconds: k.samples / info.sfreq,
      cause: 'acquisition skip (FIFF_DATA_SKIP), filled with zeros',
    })),
  };
}

/** The raw block's buffers and skips in order, and the first sample, as MNE's `_read_raw_file` works them out. */
function rawLayout(r: Reader, node: FifNode, nchan: number, warnings: string[]): { entries: BufferEntry[]; firstSample: number; format: FifRecording['dataFormat'] } {
  const dir = node.tags;
  let first = 0;
  let firstSample = 0;
  let firstSkip = 0;
  const skipCount = (tag: Tag): number => {
    const n = r.int(tag);
    if (n < 0) r.fail(tag, `negative skip count ${n}`);
    return n;
  };
  if (dir[first]?.kind === K.FIRST_SAMPLE) firstSample = r.int(dir[first++]);
  if (dir[first]?.kind === K.DATA_SKIP) firstSkip = skipCount(dir[first++]);
  const entries: BufferEntry[] = [];
  let pendingSkip: Tag | undefined;
  let format: FifRecording['dataFormat'] | undefined;
  let skipSampWarned = false;
  for (let k = first; k < dir.length; k++) {
    const tag = dir[k];
    if (tag.kind === K.DATA_SKIP) {
      pendingSkip = skipCount(tag) > 0 ? tag : undefined;
    } else if (tag.kind === K.DATA_SKIP_SAMP && !skipSampWarned) {
      warnings.push(`${r.source}: FIFF_DATA_SKIP_SAMP at byte ${tag.pos} ignored, as MNE ignores it`);
      skipSampWarned = true;
    } else if (tag.kind === K.DATA_BUFFER) {
      const t = BUFFER_TYPES[tag.type];
      if (!t) {
        const what = tag.type === T.COMPLEX_FLOAT || tag.type === T.COMPLEX_DOUBLE ? 'complex data buffers are not supported' : `cannot read data buffers of type ${tag.type}`;
        r.fail(tag, what);
      }
      const perSample = t.bytes * nchan;
      if (tag.size % perSample !== 0) r.fail(tag, `${tag.size} data bytes are not a whole number of samples of ${nchan} channels x ${t.bytes} bytes`);
      const n = tag.size / perSample;
      format ??= t.format;
      if (firstSkip > 0) {
        firstSample += n * firstSkip;
        firstSkip = 0;
      }
      if (pendingSkip) {
        entries.push({ tag: pendingSkip, skip: true, samples: r.int(pendingSkip) * n });
        pendingSkip = undefined;
      }
      entries.push({ tag, skip: false, samples: n });
    }
  }
  return { entries, firstSample, format: format ?? 'single' };
}

function decodeBuffer(r: Reader, tag: Tag, n: number, nchan: number, cals: readonly number[], out: Float32Array, s0: number, stimIndex: number, trigger: Float64Array | undefined): void {
  const v = r.view;
  let at = tag.pos + 16;
  let o = s0 * nchan;
  const read =
    tag.type === T.FLOAT
      ? (p: number) => v.getFloat32(p, false)
      : tag.type === T.DOUBLE
        ? (p: number) => v.getFloat64(p, false)
        : tag.type === T.INT
          ? (p: number) => v.getInt32(p, false)
          : (p: number) => v.getInt16(p, false);
  const step = BUFFER_TYPES[tag.type].bytes;
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < nchan; c++, at += step, o++) {
      const value = read(at) * cals[c];
      out[o] = value;
      if (c === stimIndex) trigger![s0 + s] = value;
    }
  }
}

/** Trigger channel: the option, else STI101, 'STI 014', STI014, else the first stim channel; -1 for none. */
function pickStimChannel(channels: readonly FifChannel[], wanted: string | null | undefined, source: string): number {
  if (wanted === null) return -1;
  const names = channels.map((c) => c.name);
  if (wanted !== undefined) {
    const i = names.indexOf(wanted);
    if (i < 0) throw new Error(`${source}: stim channel "${wanted}" not found`);
    return i;
  }
  for (const name of ['STI101', 'STI 014', 'STI014']) {
    const i = names.indexOf(name);
    if (i >= 0) return i;
  }
  return channels.findIndex((c) => c.mneType === 'stim');
}

/**
 * MNE's `find_events(..., output='onset', consecutive='increasing', shortest_event=1)` on one
 * channel. `values` are the calibrated trigger values; `firstSample` is added to the sample
 * indices, as MNE does.
 */
export function findEvents(values: Float64Array, firstSample: number, warn: (message: string) => void = () => {}): FifEvent[] {
  const n = values.length;
  const ints = new Float64Array(n);
  let negative = false;
  for (let i = 0; i < n; i++) {
    ints[i] = Math.trunc(values[i]);
    if (ints[i] < 0) negative = true;
  }
  if (negative) {
    warn('the trigger channel has negative values; used their absolute values, as MNE does');
    for (let i = 0; i < n; i++) ints[i] = Math.abs(ints[i]);
  }
  const steps: FifEvent[] = [];
  for (let i = 0; i + 1 < n; i++) {
    if (ints[i + 1] !== ints[i]) steps.push({ sample: i + 1 + firstSample, previous: ints[i], value: ints[i + 1] });
  }
  if (steps.length === 0) return [];
  const last = steps[steps.length - 1].value;
  if (last !== 0) steps.push({ sample: n + firstSample, previous: last, value: 0 });
  const onsets: number[] = [];
  const offsets: number[] = [];
  steps.forEach((st, i) => {
    const onset = st.value > st.previous;
    if (onset) onsets.push(i);
    if ((onset || st.value === 0) && st.previous > 0) offsets.push(i);
  });
  if (onsets.length === 0 || offsets.length === 0) return [];
  if (onsets[onsets.length - 1] > offsets[offsets.length - 1]) onsets.pop();
  return onsets.map((i) => steps[i]);
}

// ---- 2-D layout ----

export interface LayoutPosition {
  /** To the right, unit-free. */
  readonly x: number;
  /** Towards the nose, unit-free. */
  readonly y: number;
}

/**
 * Projects 3-D sensor positions (x right, y front, z up, as FIF device and head coordinates are)
 * onto a 2-D layout: an azimuthal equidistant projection around the top of the head.
 *
 * The head's centre is the centre of the sphere fitted to the points (linear least squares); each
 * point lands at distance θ from the origin, θ being its angle from the vertical through that
 * centre, in the direction of its azimuth. Distances along great circles from the top are kept, so
 * sensors low on the sides are not crushed together as in an orthographic view. The layout is then
 * scaled so the farthest sensor is at radius 1: every coordinate lies in [-1, 1].
 *
 * Pass one family of sensors at a time (MEG positions are in device coordinates, EEG in head
 * coordinates). Points that are not finite or are exactly at the origin (channels without a
 * position, such as stim channels) are left out of the fit and come back as NaN. With fewer than 4
 * usable points, or points on a plane, the centroid stands in for the sphere's centre.
 */
export function layoutPositions(points: readonly (readonly number[])[]): LayoutPosition[] {
  const usable = points.map((p) => p.length >= 3 && [p[0], p[1], p[2]].every(Number.isFinite) && (p[0] !== 0 || p[1] !== 0 || p[2] !== 0));
  const pts = points.filter((_, i) => usable[i]);
  if (pts.length === 0) return points.map(() => ({ x: NaN, y: NaN }));
  const centre = fitSphereCentre(pts) ?? centroid(pts);
  const flat = points.map((p, i) => {
    if (!usable[i]) return { x: NaN, y: NaN };
    const dx = p[0] - centre[0];
    const dy = p[1] - centre[1];
    const dz = p[2] - centre[2];
    const horizontal = Math.hypot(dx, dy);
    const theta = Math.atan2(horizontal, dz); // angle from the vertical, 0..π
    return horizontal === 0 ? { x: 0, y: 0 } : { x: (theta * dx) / horizontal, y: (theta * dy) / horizontal };
  });
  let max = 0;
  for (const f of flat) if (Number.isFinite(f.x)) max = Math.max(max, Math.hypot(f.x, f.y));
  return max > 0 ? flat.map((f) => ({ x: f.x / max, y: f.y / max })) : flat;
}

function centroid(pts: readonly (readonly number[])[]): [number, number, number] {
  const c: [number, number, number] = [0, 0, 0];
  for (const p of pts) for (let k = 0; k < 3; k++) c[k] += p[k] / pts.length;
  return c;
}

/** Centre of the least-squares sphere |p - c|² = r²: solves 2 p·c + (r² - |c|²) = |p|², linear in (c, d). */
function fitSphereCentre(pts: readonly (readonly number[])[]): [number, number, number] | undefined {
  if (pts.length < 4) return undefined;
  // Centre the data first for a well-conditioned system.
  const m = centroid(pts);
  const ata = Array.from({ length: 4 }, () => new Float64Array(4));
  const atb = new Float64Array(4);
  for (const p of pts) {
    const row = [2 * (p[0] - m[0]), 2 * (p[1] - m[1]), 2 * (p[2] - m[2]), 1];
    const rhs = (p[0] - m[0]) ** 2 + (p[1] - m[1]) ** 2 + (p[2] - m[2]) ** 2;
    for (let i = 0; i < 4; i++) {
      atb[i] += row[i] * rhs;
      for (let j = 0; j < 4; j++) ata[i][j] += row[i] * row[j];
    }
  }
  const sol = solve4(ata, atb);
  if (!sol) return undefined;
  const c: [number, number, number] = [sol[0] + m[0], sol[1] + m[1], sol[2] + m[2]];
  const r2 = sol[3] + sol[0] ** 2 + sol[1] ** 2 + sol[2] ** 2;
  return Number.isFinite(r2) && r2 > 0 ? c : undefined;
}

/** Gaussian elimination with partial pivoting; undefined when (nearly) singular. */
function solve4(a: Float64Array[], b: Float64Array): Float64Array | undefined {
  const n = 4;
  const m = a.map((row, i) => [...row, b[i]]);
  const scale = Math.max(...m.flatMap((row) => row.slice(0, n).map(Math.abs)));
  if (!(scale > 0)) return undefined;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(m[i][col]) > Math.abs(m[piv][col])) piv = i;
    if (Math.abs(m[piv][col]) <= 1e-12 * scale) return undefined;
    [m[col], m[piv]] = [m[piv], m[col]];
    for (let i = col + 1; i < n; i++) {
      const f = m[i][col] / m[col][col];
      for (let j = col; j <= n; j++) m[i][j] -= f * m[col][j];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = m[i][n];
    for (let j = i + 1; j < n; j++) s -= m[i][j] * x[j];
    x[i] = s / m[i][i];
  }
  return x;
}
