/**
 * LSL's clock: seconds on the machine's monotonic clock. liblsl's `lsl_local_clock()` reads
 * std::chrono::steady_clock, which on Linux is CLOCK_MONOTONIC, the same clock as Node's
 * `process.hrtime`; so timestamps from this process and from a liblsl program on the same machine
 * are directly comparable.
 */
export function localClock(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}
