import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { acceptsOnLoopback, freeLoopbackPort, sbinCommand } from '../../src/util/loopback.js';

/**
 * Real message-bus servers from Debian's packages (nats-server, mosquitto), started by the tests
 * on loopback ports that are free at the time. `.ci/run` installs both.
 */

function haveCommand(command: string, args: string[], apt: string): boolean {
  const ok = spawnSync(sbinCommand(command), args, { stdio: 'ignore' }).error === undefined;
  if (!ok && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`${command} is missing (.ci/run installs ${apt})`);
  if (!ok) console.warn(`skipping: ${command} is not installed (apt-get install ${apt})`);
  return ok;
}

export const haveNatsServer = (): boolean => haveCommand('nats-server', ['--version'], 'nats-server');
export const haveMosquitto = (): boolean => haveCommand('mosquitto', ['-h'], 'mosquitto');

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, what: string, proc: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode} before listening on ${port}`);
    if (await acceptsOnLoopback(port)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopProcess(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill(signal);
  });
}

/** One nats-server (JetStream on, its store in a temporary folder), alone or a node of a cluster. */
export class NatsServer {
  private proc: ChildProcess | undefined;
  readonly log: string[] = [];

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly clusterPort: number,
    private readonly storeDir: string,
    private readonly routes: readonly number[],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** A single server with JetStream. */
  static async start(): Promise<NatsServer> {
    const server = new NatsServer('n1', await freeLoopbackPort(), 0, mkdtempSync(path.join(tmpdir(), 'neurorx-nats-')), []);
    await server.run();
    return server;
  }

  /** (Re)starts the process with the same ports and store (a node coming back keeps its data). */
  async run(): Promise<this> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, '-n', this.name];
    if (this.clusterPort) {
      const conf = path.join(this.storeDir, 'cluster.conf');
      // JetStream in a cluster needs a cluster name and routes; the config file says it plainly.
      writeFileSync(
        conf,
        [
          `server_name: ${this.name}`,
          `listen: 127.0.0.1:${this.port}`,
          `jetstream { store_dir: ${JSON.stringify(this.storeDir)} }`,
          `cluster { name: neurorx-test, listen: 127.0.0.1:${this.clusterPort}, routes: [${this.routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}] }`,
        ].join('\n'),
      );
      args.splice(0, args.length, '-c', conf);
    }
    const proc = spawn(sbinCommand('nats-server'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (this.log.length < 2000) this.log.push(...d.split('\n').filter(Boolean));
    });
    this.proc = proc;
    await waitForPort(this.port, `nats-server ${this.name}`, proc);
    return this;
  }

  /** Stops the process (SIGKILL: a crash, SIGTERM: an orderly stop); the store stays for run(). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProcess(this.proc, signal);
  }

  /** Stops and deletes the store. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** A cluster of `size` JetStream nodes routed to each other, ready when each accepts clients. */
  static async cluster(size = 3): Promise<NatsServer[]> {
    const ports: number[] = [];
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) {
      ports.push(await freeLoopbackPort());
      clusterPorts.push(await freeLoopbackPort());
    }
    const nodes = ports.map(
      (p, i) =>
        new NatsServer(
          `n${i + 1}`,
          p,
          clusterPorts[i],
          mkdtempSync(path.join(tmpdir(), `neurorx-nats-n${i + 1}-`)),
          clusterPorts.filter((_, j) => j !== i),
        ),
    );
    await Promise.all(nodes.map((n) => n.run()));
    return nodes;
  }
}

/** A mosquitto broker on a loopback port (no persistence, anonymous clients allowed on loopback). */
export class Mosquitto {
  private proc: ChildProcess | undefined;
  readonly log: string[] = [];

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<Mosquitto> {
    const broker = new Mosquitto(await freeLoopbackPort(), mkdtempSync(path.join(tmpdir(), 'neurorx-mosquitto-')));
    await broker.run();
    return broker;
  }

  async run(): Promise<this> {
    const conf = path.join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, [`listener ${this.port} 127.0.0.1`, 'allow_anonymous true', 'persistence false'].join('\n') + '\n');
    const proc = spawn(sbinCommand('mosquitto'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (this.log.length < 2000) this.log.push(...d.split('\n').filter(Boolean));
    });
    this.proc = proc;
    await waitForPort(this.port, 'mosquitto', proc);
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProcess(this.proc, signal);
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
