import { localClock } from './lsl-clock.js';

/**
 * Calls `check(now)` (local clock, seconds) every `intervalMs` while our event loop runs freely.
 * A tick that comes late (the loop was blocked, so bytes may be waiting unread in a socket) is
 * skipped: a busy process never takes its own stall for a silent device. Returns the stop function.
 */
export function everyLiveTick(intervalMs: number, check: (now: number) => void): () => void {
  let last = localClock();
  const timer = setInterval(() => {
    const now = localClock();
    const late = now - last > (4 * intervalMs) / 1000;
    last = now;
    if (!late) check(now);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
