import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionDirectory } from '../src/bus/session-directory.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';
import { cli } from './helpers/cli.js';
import { seqGaps, spawnWorker, stopProcess, syntheticSession, until, type WorkerProcess } from './helpers/pool.js';

/**
 * The pool's directory as a user drives it: `neurorx sessions put|list|delete` against a real
 * nats-server and one `neurorx worker`, and a config that only a client bypassing the CLI could
 * put (the directory is a plain KV bucket): the worker reports it on the bus, naming the field,
 * and carries on with its other session.
 */

interface Status {
  readonly state: string;
  readonly detail: string;
}

/** A synthetic session whose decision hop is `hop` (a negative one is invalid). */
const sessionWithHop = (name: string, seed: number, hop: number): Record<string, unknown> => {
  const config = syntheticSession(name, seed) as { pipeline: Record<string, unknown> };
  return { ...config, pipeline: { ...config.pipeline, window: { length: 1, hop } } };
};

describe.runIf(haveNatsServer())('neurorx sessions and a worker, on one nats-server', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let directory: SessionDirectory;
  let worker: WorkerProcess;
  const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-directory-'));
  const decisions = new Map<string, number[]>();
  const statuses = new Map<string, Status[]>();
  const seqsOf = (id: string): number[] => decisions.get(id) ?? [];
  const statusesOf = (id: string): Status[] => statuses.get(id) ?? [];
  const file = (name: string, config: unknown): string => {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(config));
    return f;
  };

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    const push = <T>(map: Map<string, T[]>, subject: string, value: T): void => {
      const id = subject.split('.')[1];
      map.set(id, [...(map.get(id) ?? []), value]);
    };
    nc.subscribe('neurorx.*.decision', { callback: (_e, m) => push(decisions, m.subject, m.json<{ seq: number }>().seq) });
    nc.subscribe('neurorx.*.status', { callback: (_e, m) => push(statuses, m.subject, m.json<Status>()) });
    directory = await SessionDirectory.open(nc);
    worker = spawnWorker('wd', [server.url]);
    await until('the worker in the pool', () => /in the pool/.test(worker.stderr), 60_000);
  }, 120_000);

  afterAll(async () => {
    if (worker) await stopProcess(worker);
    await nc?.close();
    await server?.dispose();
  });

  it('sessions put refuses an invalid config file, naming the field, and wants nothing', async () => {
    const r = await cli('sessions', 'put', 'broken', file('broken', sessionWithHop('broken', 1, -0.25)), '--nats', server.url);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/pipeline\.window\.hop/);
    expect(await directory.get('broken')).toBeUndefined();
  });

  it('sessions put: the worker runs the session; sessions list shows it with its worker', async () => {
    const r = await cli('sessions', 'put', 'good', file('good', syntheticSession('good session', 7)), '--nats', server.url);
    expect(r.code, r.stderr).toBe(0);
    await until('decisions of "good" on the bus', () => seqsOf('good').length >= 4, 90_000);
    const list = await cli('sessions', 'list', '--nats', server.url, '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ id: 'good', name: 'good session', kind: 'motor-imagery', worker: 'wd' }]);
  }, 120_000);

  it('a config put straight into the directory that does not validate is reported on the bus; the other session carries on; a valid one then runs', async () => {
    const before = seqsOf('good').length;
    await directory.put('bad', sessionWithHop('bad session', 2, -0.25));
    await until('a status for "bad"', () => statusesOf('bad').length > 0, 30_000);
    const [status] = statusesOf('bad');
    expect(status.state).toBe('stopped');
    expect(status.detail).toMatch(/does not run: its config is invalid/);
    expect(status.detail).toMatch(/pipeline\.window\.hop/);
    expect(seqsOf('bad')).toEqual([]);
    // A new config for it is tried again; meanwhile "good" never missed a decision.
    await directory.put('bad', sessionWithHop('bad session, fixed', 2, 0.25));
    await until('decisions of "bad" once fixed', () => seqsOf('bad').length >= 2, 90_000);
    expect(seqsOf('good').length).toBeGreaterThan(before);
    expect(seqGaps(seqsOf('good'))).toEqual([]);
    expect(worker.proc.exitCode).toBeNull();
  }, 150_000);

  it('sessions delete stops a session (no more decisions); an unknown id is an error naming it', async () => {
    const r = await cli('sessions', 'delete', 'good', '--nats', server.url);
    expect(r.code, r.stderr).toBe(0);
    await until('"good" stopped', () => /session good stopped here \(unwanted\)/.test(worker.stderr), 30_000);
    const stoppedAt = seqsOf('good').length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(seqsOf('good').length).toBe(stoppedAt);
    expect(await directory.get('good')).toBeUndefined();
    const unknown = await cli('sessions', 'delete', 'nope', '--nats', server.url);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no session "nope" is wanted/);
  }, 60_000);
});
