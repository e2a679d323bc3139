import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import xpath from 'xpath';
import { isChannelFormat, type ChannelFormat } from './channel-format.js';

/** More channels than any amplifier or MEG system has: a larger count in a stream's info is refused before anything is built for it. */
export const MAX_LSL_CHANNELS = 65_536;

/**
 * An LSL stream description, as liblsl exchanges it: an XML document `<info>` with fixed fields
 * and a free-form `<desc>` (channel labels, units, ...). Reference: liblsl
 * src/stream_info_impl.cpp (`write_xml`, `read_xml`, `matches_query`).
 */
export interface LslStreamInfo {
  readonly name: string;
  readonly type: string;
  readonly channelCount: number;
  readonly channelFormat: ChannelFormat;
  readonly sourceId: string;
  /** Hz; 0 for irregular streams (markers). */
  readonly nominalSrate: number;
  /** Protocol version x 100, e.g. 110. */
  readonly version: number;
  readonly createdAt: number;
  readonly uid: string;
  readonly sessionId: string;
  readonly hostname: string;
  readonly v4address: string;
  readonly v4dataPort: number;
  readonly v4servicePort: number;
  readonly v6address: string;
  readonly v6dataPort: number;
  readonly v6servicePort: number;
  /** The `<desc>` element's children, serialised (empty in a shortinfo). */
  readonly descXml: string;
}

export interface LslChannelDesc {
  readonly label: string;
  readonly unit: string;
  readonly type: string;
}

/** Thrown for an info document that is not a valid LSL stream info; names the field. */
export class StreamInfoError extends Error {
  override name = 'StreamInfoError';
}

/** liblsl's number format for doubles: 16 significant digits, always with a point. */
export function formatDouble(v: number): string {
  const s = v.toPrecision(16);
  return s.includes('.') || s.includes('e') ? s : `${s}.`;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The info document as liblsl's pugixml writes it (tab-indented, `<?xml version="1.0"?>`). */
export function infoToXml(info: LslStreamInfo, withDesc = true): string {
  const fields: [string, string][] = [
    ['name', info.name],
    ['type', info.type],
    ['channel_count', String(info.channelCount)],
    ['channel_format', info.channelFormat],
    ['source_id', info.sourceId],
    ['nominal_srate', formatDouble(info.nominalSrate)],
    ['version', formatDouble(info.version / 100)],
    ['created_at', formatDouble(info.createdAt)],
    ['uid', info.uid],
    ['session_id', info.sessionId],
    ['hostname', info.hostname],
    ['v4address', info.v4address],
    ['v4data_port', String(info.v4dataPort)],
    ['v4service_port', String(info.v4servicePort)],
    ['v6address', info.v6address],
    ['v6data_port', String(info.v6dataPort)],
    ['v6service_port', String(info.v6servicePort)],
  ];
  const lines = ['<?xml version="1.0"?>', '<info>'];
  for (const [k, v] of fields) lines.push(`\t<${k}>${escapeXml(v)}</${k}>`);
  const desc = withDesc ? info.descXml.trim() : '';
  lines.push(desc === '' ? '\t<desc />' : `\t<desc>${desc}</desc>`);
  lines.push('</info>', '');
  return lines.join('\n');
}

/** A `<desc>` with a channels tree, as LSL apps (LabRecorder, OpenViBE, BrainVision...) expect. */
export function channelsDescXml(channels: readonly LslChannelDesc[], extra = ''): string {
  if (channels.length === 0) return extra;
  const ch = channels.map((c) => `<channel><label>${escapeXml(c.label)}</label><unit>${escapeXml(c.unit)}</unit><type>${escapeXml(c.type)}</type></channel>`).join('');
  return `<channels>${ch}</channels>${extra}`;
}

export interface ParsedInfo {
  readonly info: LslStreamInfo;
  readonly doc: Document;
}

/** The root element of an XML document, or the parser's complaint (its first line). */
export function parseXmlRoot(text: string): Element | string {
  const errors: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, msg) => {
        if (level !== 'warning') errors.push(msg);
      },
    }).parseFromString(text.replace(/^\uFEFF/, ''), 'text/xml');
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
  if (errors.length > 0) return errors[0].split('\n')[0];
  return doc.documentElement ?? 'no root element';
}

/** Parses a shortinfo/fullinfo message; throws StreamInfoError naming the field at fault. */
export function parseInfoXml(text: string, origin = 'stream info'): ParsedInfo {
  const parsed = parseXmlRoot(text);
  if (typeof parsed === 'string' || parsed.nodeName !== 'info') {
    throw new StreamInfoError(`${origin}: not an LSL <info> document${typeof parsed === 'string' ? ` (${parsed})` : ''}`);
  }
  const root = parsed;
  const doc = root.ownerDocument!;
  const child = (name: string): string => {
    for (let n = root.firstChild; n; n = n.nextSibling) if (n.nodeName === name) return (n.textContent ?? '').trim();
    return '';
  };
  const int = (name: string, min: number, max = Infinity): number => {
    const raw = child(name);
    const v = Number.parseInt(raw, 10);
    if (!Number.isFinite(v) || v < min || v > max) throw new StreamInfoError(`${origin}: <${name}> must be an integer >= ${min}${max < Infinity ? ` and <= ${max}` : ''}, found "${raw}"`);
    return v;
  };
  const num = (name: string): number => {
    const raw = child(name);
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v)) throw new StreamInfoError(`${origin}: <${name}> must be a number, found "${raw}"`);
    return v;
  };
  const name = child('name');
  if (name === '') throw new StreamInfoError(`${origin}: <name> is empty`);
  const format = child('channel_format');
  if (!isChannelFormat(format)) throw new StreamInfoError(`${origin}: <channel_format> "${format}" is not one of float32, double64, string, int32, int16, int8, int64`);
  const srate = num('nominal_srate');
  if (srate < 0) throw new StreamInfoError(`${origin}: <nominal_srate> must be >= 0, found ${srate}`);
  const version = Math.round(num('version') * 100);
  if (version <= 0) throw new StreamInfoError(`${origin}: <version> must be positive`);
  const uid = child('uid');
  if (uid === '') throw new StreamInfoError(`${origin}: <uid> is empty`);
  const descEl = childElement(root, 'desc');
  let descXml = '';
  if (descEl) {
    const ser = new XMLSerializer();
    for (let n = descEl.firstChild; n; n = n.nextSibling) descXml += ser.serializeToString(n);
  }
  const info: LslStreamInfo = {
    name,
    type: child('type'),
    channelCount: int('channel_count', 0, MAX_LSL_CHANNELS),
    channelFormat: format,
    sourceId: child('source_id'),
    nominalSrate: srate,
    version,
    createdAt: child('created_at') === '' ? 0 : num('created_at'),
    uid,
    sessionId: child('session_id'),
    hostname: child('hostname'),
    v4address: child('v4address'),
    v4dataPort: int('v4data_port', 0, 65535),
    v4servicePort: int('v4service_port', 0, 65535),
    v6address: child('v6address'),
    v6dataPort: int('v6data_port', 0, 65535),
    v6servicePort: int('v6service_port', 0, 65535),
    descXml: descXml.trim(),
  };
  return { info, doc };
}

/** Channel labels/units/types from `desc/channels/channel`, when the stream describes them. */
export function channelsOf(doc: Document): LslChannelDesc[] {
  const channels = childElement(childElement(doc.documentElement ?? undefined, 'desc'), 'channels');
  const out: LslChannelDesc[] = [];
  for (let n = channels?.firstChild; n; n = n.nextSibling) {
    if (n.nodeName !== 'channel') continue;
    const el = n as Element;
    const text = (name: string): string => (childElement(el, name)?.textContent ?? '').trim();
    out.push({ label: text('label'), unit: text('unit'), type: text('type') });
  }
  return out;
}

function childElement(parent: Element | undefined | null, name: string): Element | undefined {
  for (let n = parent?.firstChild; n; n = n.nextSibling) if (n.nodeName === name) return n as Element;
  return undefined;
}

/**
 * Whether an info matches an LSL query: an XPath 1.0 expression evaluated on the `<info>` element
 * and taken as a boolean, as liblsl's `matches_query` does with pugixml (e.g. `type='EEG' and
 * channel_count>8`). An invalid query matches nothing (liblsl logs and answers false).
 */
export function matchesQuery(doc: Document, query: string): boolean {
  if (query.trim() === '') return true;
  try {
    return xpathBoolean(evaluate(doc, query));
  } catch {
    return false;
  }
}

/** Throws with the parser's message when `query` is not a valid XPath expression. */
let blankDoc: Document | undefined;

export function checkQuery(query: string): void {
  const doc = (blankDoc ??= parseInfoXml(infoToXml(blankInfo())).doc);
  try {
    evaluate(doc, query);
  } catch (e) {
    throw new Error(`invalid LSL query "${query}": ${(e as Error).message}`);
  }
}

// The query is evaluated as it is, never pasted into another expression: "x) or (true()" must not
// escape a boolean( ) around it.
function evaluate(doc: Document, query: string): unknown {
  return xpath.select(query, doc.documentElement as unknown as Parameters<typeof xpath.select>[1]);
}

/** XPath's boolean(): a non-empty node-set or string, a number other than 0 and NaN. */
function xpathBoolean(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v.length > 0;
  return v === true;
}

function blankInfo(): LslStreamInfo {
  return {
    name: 'x',
    type: '',
    channelCount: 0,
    channelFormat: 'float32',
    sourceId: '',
    nominalSrate: 0,
    version: 110,
    createdAt: 0,
    uid: 'x',
    sessionId: '',
    hostname: '',
    v4address: '',
    v4dataPort: 0,
    v4servicePort: 0,
    v6address: '',
    v6dataPort: 0,
    v6servicePort: 0,
    descXml: '',
  };
}
