/**
 * What a wrapping packet counter (Cyton: one byte, 0..255 then 0 again; generic devices: one or
 * two bytes) says about each new packet:
 * - the next value: in order;
 * - the same value again: a duplicate (the radio link repeating a packet whose acknowledgement it
 *   missed): dropped, never 255 lost packets;
 * - a value a little behind (up to `staleWindow`): a stale repeat of an earlier packet (a Daisy
 *   pair sent twice shows up as one step back, then a duplicate): dropped as well;
 * - anything else: that many packets lost in between.
 * After a silence the counter may have wrapped any number of times: the time without packets
 * (`elapsedPackets`, the packets the nominal rate would have sent) says how many, the counter
 * gives the exact count modulo its range; the very next counter after a silence means nothing was
 * lost (packets held up by a busy host arrive late, in order).
 */
export type CounterVerdict = { readonly kind: 'next'; readonly lost: number } | { readonly kind: 'duplicate' };

/** How far behind the previous counter a packet may be and still count as a repeat. */
export const STALE_WINDOW = 8;

export class PacketCounter {
  private last = -1;

  constructor(
    /** Counter range: 256 for one byte, 65536 for two. */
    readonly modulo: number,
    readonly staleWindow = STALE_WINDOW,
  ) {}

  /** Forgets the previous counter (the port was reopened: the next packet starts afresh). */
  reset(): void {
    this.last = -1;
  }

  /** The previous accepted counter, -1 before the first. */
  get previous(): number {
    return this.last;
  }

  /**
   * Classifies `counter`. `elapsedPackets`, given after a silence, is how many packets the nominal
   * rate would have sent since the previous one: the lost count is then unwrapped to the value
   * nearest it that agrees with the counter.
   */
  next(counter: number, elapsedPackets?: number): CounterVerdict {
    const m = this.modulo;
    if (!Number.isInteger(counter) || counter < 0 || counter >= m) throw new Error(`packet counter ${counter} is outside 0..${m - 1}`);
    if (this.last < 0) {
      this.last = counter;
      return { kind: 'next', lost: 0 };
    }
    const step = (counter - this.last + m) % m;
    if (elapsedPackets === undefined) {
      if (step === 0 || step >= m - this.staleWindow) return { kind: 'duplicate' };
      this.last = counter;
      return { kind: 'next', lost: step - 1 };
    }
    const mod = (step - 1 + m) % m;
    // The very next counter after a silence: the board paused, or its packets were held up on the
    // way (a busy host, a buffering link) and arrive now. Whole turns lost without one packet
    // getting through would look the same, but a stalled host must never invent losses.
    if (mod === 0) {
      this.last = counter;
      return { kind: 'next', lost: 0 };
    }
    const wraps = Math.max(0, Math.round((elapsedPackets - 1 - mod) / m));
    this.last = counter;
    return { kind: 'next', lost: mod + wraps * m };
  }
}
