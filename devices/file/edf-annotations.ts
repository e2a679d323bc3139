/**
 * EDF+ time-stamped annotation lists (TALs).
 *
 * An annotation signal's bytes in one data record hold TALs back to back:
 *   +onset [0x15 duration] 0x14 [text 0x14]* 0x00
 * padded with 0x00. The first TAL of each record (in the first annotation signal) has no text: it
 * keeps time, stating when the record starts. Text is UTF-8.
 */

export interface Tal {
  /** Seconds since the file's start date. */
  readonly onset: number;
  readonly duration: number;
  /** Annotation texts; empty for a time-keeping TAL. */
  readonly texts: readonly string[];
}

const DC4 = 0x14;
const NAK = 0x15;
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Parses the TALs in `bytes` (one annotation signal of one record). `where` describes the location
 * for error messages (the caller knows the absolute byte offset).
 */
export function parseTals(bytes: Uint8Array, where: (offsetInBlock: number) => string): Tal[] {
  const tals: Tal[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === 0) {
      i++;
      continue;
    }
    const start = i;
    let end = i;
    while (end < bytes.length && bytes[end] !== 0) end++;
    tals.push(parseTal(bytes.subarray(start, end), () => where(start)));
    i = end + 1;
  }
  return tals;
}

function parseTal(tal: Uint8Array, where: () => string): Tal {
  // Time stamp: up to the first 0x14, optionally split by 0x15 into onset and duration.
  let stampEnd = tal.indexOf(DC4);
  if (stampEnd < 0) throw new Error(`${where()}: annotation without the 0x14 byte that ends its time stamp`);
  const stamp = tal.subarray(0, stampEnd);
  const nak = stamp.indexOf(NAK);
  const onsetText = decoder.decode(nak < 0 ? stamp : stamp.subarray(0, nak));
  const durationText = nak < 0 ? '' : decoder.decode(stamp.subarray(nak + 1));
  if (!/^[+-]\d+(\.\d*)?$/.test(onsetText)) {
    throw new Error(`${where()}: annotation onset must be "+seconds" or "-seconds", found ${JSON.stringify(onsetText)}`);
  }
  const onset = Number(onsetText);
  if (!Number.isFinite(onset)) throw new Error(`${where()}: annotation onset ${onsetText.slice(0, 24)}... is too large`);
  let duration = 0;
  if (durationText !== '') {
    if (!/^\d+(\.\d*)?$/.test(durationText)) {
      throw new Error(`${where()}: annotation duration must be a number of seconds, found ${JSON.stringify(durationText)}`);
    }
    duration = Number(durationText);
    if (!Number.isFinite(duration)) throw new Error(`${where()}: annotation duration ${durationText.slice(0, 24)}... is too large`);
  }
  const texts: string[] = [];
  let from = stampEnd + 1;
  while (from < tal.length) {
    stampEnd = tal.indexOf(DC4, from);
    const to = stampEnd < 0 ? tal.length : stampEnd;
    const text = decoder.decode(tal.subarray(from, to));
    if (text !== '') texts.push(text);
    from = to + 1;
  }
  return { onset, duration, texts };
}
