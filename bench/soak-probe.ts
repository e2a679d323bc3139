/**
 * Loaded into the soak's server process (`node --import dist/bench/soak-probe.js`): sends the
 * soak its memory figures every 5 s over the IPC channel. The RSS the soak reports comes from
 * /proc; the heap can only be read from inside. Costs one small message per 5 s and keeps nothing
 * alive.
 */
if (process.send) {
  const send = process.send.bind(process);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    send({ soakProbe: { rss: m.rss, heapUsed: m.heapUsed } }, undefined, {}, () => {});
  }, 5000);
  timer.unref();
  process.channel?.unref();
}
export {};
