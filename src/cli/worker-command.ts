import { InvalidArgumentError, type Command } from 'commander';
import { hostname } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { natsServers } from '../bus/attach-buses.js';
import { SessionDirectory } from '../bus/session-directory.js';
import { watchLeaseHolders } from '../bus/session-leases.js';
import { checkSessionId } from '../bus/subjects.js';
import { loadConfig } from '../config/config-schema.js';
import { BusWorker } from '../host/bus-worker.js';
import { wholeNumber, withThreadOptions } from './cli-args.js';

interface WorkerOptions {
  nats?: string;
  name?: string;
  stateDir?: string;
  sessionsPerThread?: number;
  maxHeapMb?: number;
  ttlMs?: number;
  heartbeatMs?: number;
}

/** The servers of --nats (or $NEURORX_NATS), as a usage error when there are none. */
export function natsOption(value: string | undefined): string[] {
  try {
    return natsServers(value);
  } catch {
    throw new InvalidArgumentError('--nats: give one or more NATS server URLs, comma-separated (or set NEURORX_NATS), e.g. nats://127.0.0.1:4222');
  }
}

/** A worker's default name: the host's, with the process id (unique on one machine). */
function defaultName(): string {
  return `${
    hostname()
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 40) || 'worker'
  }-${process.pid}`;
}

/** Resolves on SIGINT or SIGTERM (once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** Registers `neurorx worker` and `neurorx sessions ...` (the pool's directory). */
export function registerWorkerCommands(program: Command): void {
  withThreadOptions(
    program
      .command('worker')
      .description('join a pool of workers on NATS: run the sessions of the directory this worker holds the leases of, take over those of a worker that died')
      .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS)')
      .option('--name <worker>', "this worker's name in the pool (letters, digits, '-', '_'; default <host>-<pid>)"),
    'where the sessions keep their saved models (they are on the bus too)',
  )
    .option('--ttl-ms <n>', 'a lease not renewed for this long is taken over (default 3000)', wholeNumber('--ttl-ms', 1))
    .option('--heartbeat-ms <n>', 'lease renewal and heartbeat period (default 1000; at most half the ttl)', wholeNumber('--heartbeat-ms', 1))
    .action(async (o: WorkerOptions) => {
      const servers = natsOption(o.nats);
      const name = o.name ?? defaultName();
      const log = (line: string): void => void process.stderr.write(`worker ${name}: ${line}\n`);
      const worker = await BusWorker.start({
        servers,
        name,
        log,
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
        ...(o.sessionsPerThread ? { sessionsPerThread: o.sessionsPerThread } : {}),
        ...(o.maxHeapMb !== undefined ? { maxHeapMb: o.maxHeapMb } : {}),
        ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}),
        ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      });
      const signal = await untilSignal();
      log(`${signal}: releasing ${worker.pool.held().length} session(s) for the others`);
      await worker.close();
      log('stopped');
    });

  const sessions = program.command('sessions').description("the pool's wanted sessions (the directory on NATS): workers run them, gateways serve them");
  sessions
    .command('put')
    .description('want a session run by the pool (replaces its config when it is wanted already); the config is validated first')
    .argument('<id>', "the session id (letters, digits, '-', '_')")
    .argument('<config>', 'a config file (as for neurorx run)')
    .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS)')
    .action(async (id: string, file: string, o: { nats?: string }) => {
      checkSessionId(id);
      const config = await loadConfig(file);
      if (config.plugins?.length) process.stderr.write(`note: plug-ins are loaded by the workers, relative to their working directory (${path.dirname(path.resolve(file))} here)\n`);
      await withDirectory(o.nats, async (directory) => {
        await directory.put(id, config);
        process.stderr.write(`session ${id} (${config.name}) is wanted; a worker starts it\n`);
      });
    });
  sessions
    .command('list')
    .description('the wanted sessions, and the worker running each')
    .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS)')
    .option('--json', 'one JSON array on stdout', false)
    .action(async (o: { nats?: string; json: boolean }) => {
      await withDirectory(o.nats, async (directory, nc) => {
        const wanted = await directory.list();
        const holders = new Map<string, string>();
        const watch = await watchLeaseHolders(nc, (id, worker) => (worker === undefined ? holders.delete(id) : holders.set(id, worker)));
        await watch.initialized;
        watch.stop();
        const rows = [...wanted].map(([id, config]) => {
          const c = config as { name?: unknown; pipeline?: { kind?: unknown } } | undefined;
          return { id, name: typeof c?.name === 'string' ? c.name : '', kind: typeof c?.pipeline?.kind === 'string' ? c.pipeline.kind : '', worker: holders.get(id) ?? null };
        });
        if (o.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
        for (const r of rows) process.stdout.write(`${r.id}\t${r.kind}\t${r.worker ?? '(not running)'}\t${r.name}\n`);
        if (rows.length === 0) process.stderr.write('no sessions are wanted\n');
      });
    });
  sessions
    .command('delete')
    .description('no longer want a session (its worker stops it)')
    .argument('<id>', 'the session id')
    .option('--nats <urls>', 'NATS server URLs, comma-separated (default $NEURORX_NATS)')
    .action(async (id: string, o: { nats?: string }) => {
      checkSessionId(id);
      await withDirectory(o.nats, async (directory) => {
        if ((await directory.get(id)) === undefined) throw new InvalidArgumentError(`no session "${id}" is wanted`);
        await directory.delete(id);
        process.stderr.write(`session ${id} is no longer wanted; its worker stops it\n`);
      });
    });
}

async function withDirectory(urls: string | undefined, use: (directory: SessionDirectory, nc: NatsConnection) => Promise<void>): Promise<void> {
  const servers = natsOption(urls);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, name: 'neurorx sessions' });
  } catch (e) {
    throw new Error(`cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  try {
    await use(await SessionDirectory.open(nc), nc);
  } finally {
    await nc.close();
  }
}
