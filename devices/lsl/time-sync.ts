import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { localClock } from './lsl-clock.js';

/**
 * Clock offset between an outlet and us (liblsl src/time_receiver.cpp): probes
 * "LSL:timedata\r\n<wave-id> <t0>\r\n" to the outlet's service port; each answer
 * " <wave-id> <t0> <t1> <t2>" (t1, t2 on the outlet's clock) and its arrival t3 give
 *   rtt = (t3 - t0) - (t2 - t1),  offset = ((t1 - t0) + (t2 - t3)) / 2   (remote - local);
 * the estimate with the smallest rtt wins, as in NTP. The correction to add to the outlet's
 * timestamps to put them on our clock is -offset.
 */
export interface TimeEstimate {
  /** Add to the remote timestamps to get local clock times. */
  readonly correction: number;
  /** Round-trip time of the winning probe: an upper bound on the error. */
  readonly rtt: number;
  /** Local time of the estimate. */
  readonly at: number;
}

export async function estimateTimeCorrection(address: string, port: number, opts: { probes?: number; interval?: number; wait?: number; bindAddress?: string } = {}): Promise<TimeEstimate | undefined> {
  const probes = opts.probes ?? 8;
  const interval = opts.interval ?? 0.064;
  const sock = dgram.createSocket('udp4');
  const wave = randomInt(1, 2 ** 31 - 1);
  let best: TimeEstimate | undefined;
  sock.on('error', () => {});
  sock.on('message', (msg) => {
    const t3 = localClock();
    const e = parseTimeReply(msg, wave, t3);
    if (e && (!best || e.rtt < best.rtt)) best = e;
  });
  await new Promise<void>((r) => sock.bind(0, opts.bindAddress ?? '0.0.0.0', () => r()));
  for (let k = 0; k < probes; k++) {
    sock.send(`LSL:timedata\r\n${wave} ${localClock()}\r\n`, port, address, () => {});
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
  await new Promise((r) => setTimeout(r, (opts.wait ?? 0.128) * 1000));
  sock.close();
  return best;
}

/** One answer " <wave-id> <t0> <t1> <t2>" to probe wave `wave`, received at t3; undefined if not one. */
export function parseTimeReply(msg: Buffer, wave: number, t3: number): TimeEstimate | undefined {
  const parts = msg.toString('latin1').trim().split(/\s+/).map(Number);
  if (parts.length < 4 || parts[0] !== wave || parts.some((x) => !Number.isFinite(x))) return undefined;
  const [, t0, t1, t2] = parts;
  const rtt = t3 - t0 - (t2 - t1);
  const offset = (t1 - t0 + (t2 - t3)) / 2;
  return Number.isFinite(rtt) && Number.isFinite(offset) ? { correction: -offset, rtt, at: t3 } : undefined;
}
