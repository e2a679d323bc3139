/**
 * The floor under bench:scale's NATS latency: the topology of a `neurorx worker` with nothing of
 * neurorx in it. A worker thread takes frames from `<prefix>.in` (its own NATS connection, as a
 * session's `nats:` source has) and posts each frame's index to the main thread, which publishes
 * it on `<prefix>.out` (as the worker's bus publishes a decision). Run as a child process:
 *
 *   node scale-nats-echo.js <nats url> <subject prefix>
 *
 * It prints "ready" on stdout once both subscriptions are in place.
 */
import { connect } from 'nats';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const [url, prefix] = isMainThread ? process.argv.slice(2) : (workerData as [string, string]);

if (isMainThread) {
  const nc = await connect({ servers: url, name: 'bench:scale echo (main)' });
  const thread = new Worker(new URL(import.meta.url), { workerData: [url, prefix] });
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  thread.on('message', (m: number | 'ready') => {
    if (m === 'ready') return void process.stdout.write('ready\n');
    view.setFloat64(0, m, true);
    nc.publish(`${prefix}.out`, out);
  });
  thread.on('error', (e) => {
    process.stderr.write(`echo thread: ${e.message}\n`);
    process.exit(1);
  });
} else {
  const nc = await connect({ servers: url, name: 'bench:scale echo (thread)' });
  nc.subscribe(`${prefix}.in`, {
    callback: (err, msg) => {
      if (!err) parentPort!.postMessage(new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength).getFloat64(0, true));
    },
  });
  await nc.flush();
  parentPort!.postMessage('ready');
}
