/**
 * Source URIs name where a stream comes from, in configs and on the command line:
 *
 *   file:recordings/S001R04.edf?speed=2&chunk=32&loop=true
 *   file:P300/subject1/session1/data_2017-02-04-15_45_13.csv  (a muse-lsl CSV run: TP9/AF7/AF8/TP10 at 256 Hz, markers = codes)
 *   file:session.xdf?stream=EEG                                (XDF: signal stream by id, name or type; string streams give markers)
 *   synthetic:motor-imagery?seed=7&classes=left,right          (endless, live)
 *   synthetic:motor-imagery?seed=7&trials=40                   (a finite recording)
 *   synthetic:emotion?seed=7&subject=3&leadIn=20               (affective EEG: rest, then clips)
 *   synthetic:emotion?seed=7&clips=10                          (a finite recording)
 *   synthetic:meg?seed=1&channels=306&rate=1000&images=240     (MEG, an image every ~1 s)
 *   lsl:type=EEG?markers=type=Markers    lsl:name=MyAmp    lsl:type='EEG' and channel_count>8
 *   serial:cyton:/dev/ttyUSB0                                    (planned)
 *   nats:lab1?servers=nats://a:4222,nats://b:4222&from=start&durable=decoder1
 *                          (an EEG stream published on NATS by `neurorx bus send`; see devices/nats/nats-source.ts:
 *                           servers default $NEURORX_NATS else nats://127.0.0.1:4222; from=new|start|<JetStream seq>;
 *                           durable=<name> resumes after the last frame processed)
 *
 * Query parameters speed (number or "max"), chunk and loop set the replay pace of file and
 * synthetic sources; the others belong to the source.
 */
export interface SourceUri {
  readonly scheme: 'file' | 'synthetic' | 'lsl' | 'serial' | 'nats';
  /** What follows the scheme, before any query: a path, a generator name, a device spec. */
  readonly target: string;
  readonly params: ReadonlyMap<string, string>;
  readonly raw: string;
}

const SCHEMES = ['file', 'synthetic', 'lsl', 'serial', 'nats'] as const;

export function parseSourceUri(raw: string): SourceUri {
  const colon = raw.indexOf(':');
  if (colon <= 0) {
    throw new Error(`source "${raw}": expected <scheme>:<target>, one of ${SCHEMES.map((s) => s + ':').join(' ')} (e.g. file:recording.edf)`);
  }
  const scheme = raw.slice(0, colon);
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new Error(`source "${raw}": unknown scheme "${scheme}", expected one of ${SCHEMES.join(', ')}`);
  }
  const rest = raw.slice(colon + 1);
  const q = rest.indexOf('?');
  const target = q >= 0 ? rest.slice(0, q) : rest;
  if (target.length === 0) throw new Error(`source "${raw}": nothing after "${scheme}:"`);
  const params = new Map<string, string>();
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) params.set(k, v);
  }
  return { scheme: scheme as SourceUri['scheme'], target, params, raw };
}

/** A numeric query parameter, or `fallback`; throws naming the parameter when it is not a number. */
export function numberParam(uri: SourceUri, name: string, fallback: number): number;
export function numberParam(uri: SourceUri, name: string, fallback?: number): number | undefined;
export function numberParam(uri: SourceUri, name: string, fallback?: number): number | undefined {
  const v = uri.params.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`source "${uri.raw}": parameter ${name}="${v}" is not a number`);
  return n;
}

export function booleanParam(uri: SourceUri, name: string, fallback: boolean): boolean {
  const v = uri.params.get(name);
  if (v === undefined) return fallback;
  if (['1', 'true', 'yes', ''].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new Error(`source "${uri.raw}": parameter ${name}="${v}" is not a boolean (true/false)`);
}
