/**
 * What a file's header may make a reader allocate. A reader holds a whole recording in memory as
 * Float32 values; most of them come straight from the file, but a header can also ask for values
 * the file does not hold: a slow EDF signal held up to the fastest rate, a FIF acquisition skip
 * filled with zeros. Those are legitimate in moderation (a 1 Hz temperature beside 500 Hz EEG, a
 * few skipped buffers), and the way a 2 MB file asks for gigabytes. So:
 * - any recording may hold up to `FREE_VALUES` values (64 MB) whatever the file holds;
 * - beyond that, at most `MAX_EXPANSION` values per value stored in the file;
 * - and never more than `MAX_RECORDING_VALUES` values (1 GiB), a recording this reader cannot
 *   hold whole (the error says so).
 * Checked from the header alone, before anything is allocated.
 */
export const FREE_VALUES = 2 ** 24;
export const MAX_EXPANSION = 64;
export const MAX_RECORDING_VALUES = 2 ** 28;

export interface AllocationRequest {
  /** Values the recording would hold (samples x channels). */
  readonly values: number;
  /** Values the file actually stores for them. */
  readonly stored: number;
  /** How the header asks for them, for the message: "200 signals at 1000000 samples per record". */
  readonly because: string;
}

/** Why the request is refused, or undefined when it is within bounds. */
export function refuseAllocation(req: AllocationRequest): string | undefined {
  const mb = (values: number): string => `${Math.ceil((values * 4) / 2 ** 20)} MB`;
  if (req.values > MAX_RECORDING_VALUES) {
    return `${req.because}: the recording would hold ${req.values} values (${mb(req.values)} as Float32), more than the ${mb(MAX_RECORDING_VALUES)} this reader holds in memory`;
  }
  if (req.values > FREE_VALUES && req.values > MAX_EXPANSION * req.stored) {
    const ratio = req.stored > 0 ? `${Math.round(req.values / req.stored)} times` : 'infinitely many times';
    return (
      `${req.because}: the recording would hold ${req.values} values (${mb(req.values)}) for the ${req.stored} the file stores, ` +
      `${ratio} as many (at most ${MAX_EXPANSION} times is allowed beyond ${mb(FREE_VALUES)}); refused as a corrupt or hostile header`
    );
  }
  return undefined;
}
