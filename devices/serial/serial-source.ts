import { LossLog } from '../../src/stream/losses.js';
import type { SourceUri } from '../source-uri.js';
import { numberParam } from '../source-uri.js';
import { openCytonSource, type CytonSource } from './cyton-source.js';
import { loadGenericProtocol, openGenericSource, type GenericSource } from './generic-source.js';

/**
 * `serial:` source URIs:
 *   serial:cyton:/dev/ttyUSB0              OpenBCI Cyton, 8 channels at 250 Hz
 *   serial:cyton-daisy:/dev/ttyUSB0        Cyton + Daisy, 16 channels at 125 Hz
 *   serial:generic:device.json?path=/dev/ttyACM0   a device described by a config (generic-protocol.ts)
 * Parameters: labels (comma-separated channel labels), gain (1, 2, 4, 6, 8, 12 or 24: sent to the
 * board and used for scaling; default: the board's power-on 24), reset (false skips the soft reset).
 * Gaps (lost packets, a reopened port, a silent device) and warnings go to `losses`.
 */
export function openSerialSource(uri: SourceUri, log?: (m: string) => void, losses = new LossLog()): CytonSource | GenericSource {
  const colon = uri.target.indexOf(':');
  const kind = colon < 0 ? uri.target : uri.target.slice(0, colon);
  const path = colon < 0 ? '' : uri.target.slice(colon + 1);
  if (kind === 'generic') {
    const port = uri.params.get('path');
    if (!path) throw new Error(`source "${uri.raw}": no device config after "generic:" (serial:generic:device.json?path=/dev/ttyACM0)`);
    if (!port) throw new Error(`source "${uri.raw}": the serial port is missing: add ?path=/dev/ttyACM0`);
    return openGenericSource(port, loadGenericProtocol(path), log, losses);
  }
  if (kind !== 'cyton' && kind !== 'cyton-daisy') {
    throw new Error(`source "${uri.raw}": unknown serial device "${kind}", expected cyton, cyton-daisy or generic (e.g. serial:cyton:/dev/ttyUSB0)`);
  }
  if (path === '') throw new Error(`source "${uri.raw}": no serial port path after "${kind}:"`);
  const labels = uri.params
    .get('labels')
    ?.split(',')
    .map((l) => l.trim());
  const gain = numberParam(uri, 'gain');
  return openCytonSource({
    path,
    daisy: kind === 'cyton-daisy',
    ...(labels ? { labels } : {}),
    ...(gain !== undefined ? { gain } : {}),
    reset: uri.params.get('reset') !== 'false',
    ...(log ? { log } : {}),
    losses,
  });
}
