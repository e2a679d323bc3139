import { writeFileSync } from 'node:fs';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasePool, watchLeaseHolders, type HolderWatch, type LoseReason } from '../src/bus/session-leases.js';
import { SessionDirectory } from '../src/bus/session-directory.js';
import { BUCKETS } from '../src/bus/subjects.js';
import { haveNatsServer, NatsServer } from './helpers/bus-servers.js';

const HEARTBEAT_MS = 250;
const TTL_MS = 1000;
const SESSIONS = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Worker {
  readonly name: string;
  readonly nc: NatsConnection;
  readonly pool: LeasePool;
  readonly acquired: string[];
  readonly lost: { id: string; why: LoseReason }[];
  dead: boolean;
}

describe.runIf(haveNatsServer())('session leases on a 3-node NATS cluster', () => {
  let nodes: NatsServer[] = [];
  let admin: NatsConnection;
  let directory: SessionDirectory;
  const workers: Worker[] = [];
  const doubleHeld: string[] = [];
  const logs: string[] = [];
  let sampler: NodeJS.Timeout | undefined;
  // What a gateway sees: the holder of each session, from the lease bucket.
  const seenHolders = new Map<string, string>();
  let holderWatch: HolderWatch | undefined;
  const watchAgrees = (): boolean => {
    const h = holders();
    return h.size === seenHolders.size && [...h].every(([id, names]) => names.length === 1 && seenHolders.get(id) === names[0]);
  };
  const connectAll = (name: string): Promise<NatsConnection> => connect({ servers: nodes.map((n) => n.url), name, reconnectTimeWait: 100, maxReconnectAttempts: -1, pingInterval: 1000 });

  /** Every session held by the live workers, with how many hold it. */
  const holders = (): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const w of workers) if (!w.dead) for (const id of w.pool.held()) out.set(id, [...(out.get(id) ?? []), w.name]);
    return out;
  };
  const allHeldOnce = (ids: readonly string[]): boolean => {
    const h = holders();
    return h.size === ids.length && ids.every((id) => h.get(id)?.length === 1);
  };

  beforeAll(async () => {
    nodes = await NatsServer.cluster(3);
    admin = await connectAll('admin');
    directory = await SessionDirectory.open(admin);
    for (const [i, id] of SESSIONS.entries()) await directory.put(id, { name: id, n: i });
    for (const name of ['w1', 'w2', 'w3']) {
      const nc = await connectAll(name);
      const acquired: string[] = [];
      const lost: { id: string; why: LoseReason }[] = [];
      const pool = new LeasePool({
        nc,
        worker: name,
        heartbeatMs: HEARTBEAT_MS,
        ttlMs: TTL_MS,
        onAcquire: (id) => acquired.push(id),
        log: (l) => logs.push(`${Date.now() % 100_000} ${name}: ${l}`),
        onLose: (id, why) => void lost.push({ id, why }),
      });
      workers.push({ name, nc, pool, acquired, lost, dead: false });
    }
    await Promise.all(workers.map((w) => w.pool.start()));
    holderWatch = await watchLeaseHolders(admin, (id, worker) => (worker ? seenHolders.set(id, worker) : seenHolders.delete(id)));
    sampler = setInterval(() => {
      for (const [id, names] of holders()) if (names.length > 1) doubleHeld.push(`${id}: ${names.join(', ')}`);
    }, 20);
  }, 60_000);

  afterAll(async () => {
    clearInterval(sampler);
    if (process.env.NEURORX_LEASE_LOG) writeFileSync(process.env.NEURORX_LEASE_LOG, logs.join('\n'));
    holderWatch?.stop();
    for (const w of workers) if (!w.dead) await w.pool.close().catch(() => {});
    for (const w of workers) await w.nc.close().catch(() => {});
    await admin?.close().catch(() => {});
    for (const n of nodes) await n.dispose();
  }, 60_000);

  it('holds every wanted session exactly once, roughly balanced, in buckets with 3 replicas', async () => {
    // A worker that started first may have taken more; it gives the surplus away.
    const balanced = (): boolean => workers.every((w) => w.pool.held().length <= Math.ceil(12 / 3) + 1);
    await until('all 12 sessions held, balanced', () => allHeldOnce(SESSIONS) && balanced());
    await until('the holder watch to agree', watchAgrees);
    const js = admin.jetstream();
    expect((await (await js.views.kv(BUCKETS.leases)).status()).replicas).toBe(3);
    expect((await (await js.views.kv(BUCKETS.sessions)).status()).replicas).toBe(3);
    expect(doubleHeld).toEqual([]);
  }, 30_000);

  it('moves the sessions of a worker whose connection vanished to the others, each once', async () => {
    const gone = workers[0];
    const theirs = gone.pool.held();
    expect(theirs.length).toBeGreaterThan(0);
    const before = workers.slice(1).map((w) => w.acquired.length);
    const lostBefore = workers.slice(1).map((w) => w.lost.length);
    // A kill -9: the connection ends without a release.
    gone.dead = true;
    await gone.nc.close();
    await until('the others hold all 12', () => allHeldOnce(SESSIONS), TTL_MS * 10 + 10_000);
    const takenOver = workers.slice(1).flatMap((w, i) => w.acquired.slice(before[i]));
    expect(takenOver.sort()).toEqual([...theirs].sort());
    await until('the holder watch to agree', watchAgrees);
    // (Before, a worker that started first may have given sessions away: that is not a loss.)
    expect(workers.slice(1).flatMap((w, i) => w.lost.slice(lostBefore[i]))).toEqual([]);
    for (const w of workers.slice(1)) expect(w.pool.held().length).toBeLessThanOrEqual(Math.ceil(12 / 2) + 1);
    expect(doubleHeld).toEqual([]);
  }, 60_000);

  it('stops and releases a session the directory no longer wants', async () => {
    const id = SESSIONS[0];
    const holder = workers.find((w) => !w.dead && w.pool.held().includes(id))!;
    await directory.delete(id);
    await until(`${id} released`, () => !holders().has(id));
    expect(holder.lost).toContainEqual({ id, why: 'unwanted' });
    const kv = await admin.jetstream().views.kv(BUCKETS.leases);
    await until(`the lease of ${id} deleted`, async () => (await kv.get(id))?.operation !== 'PUT');
    expect(doubleHeld).toEqual([]);
  }, 30_000);

  it('carries on when a NATS node is killed: leases renewed, none lost or held twice', async () => {
    const wanted = SESSIONS.slice(1);
    const live = workers.filter((w) => !w.dead);
    const lostBefore = live.map((w) => w.lost.length);
    const kv = await admin.jetstream().views.kv(BUCKETS.leases);
    const revisions = new Map<string, number>();
    for (const id of wanted) revisions.set(id, (await kv.get(id))!.revision);
    // The worst node to lose: the leader of the leases bucket's stream (a new one is elected).
    const leader = (await (await admin.jetstreamManager()).streams.info(`KV_${BUCKETS.leases}`)).cluster?.leader;
    const victim = nodes.find((n) => n.name === leader) ?? nodes[0];
    logs.push(`${Date.now() % 100_000} killing ${victim.name}`);
    await victim.stop('SIGKILL');
    // Every lease renewed after the node went (renewals go on through the other two).
    await until(
      'every lease renewed',
      async () => {
        for (const id of wanted) {
          const e = await kv.get(id).catch(() => null);
          if (!e || e.revision <= revisions.get(id)!) return false;
        }
        return true;
      },
      30_000,
    );
    logs.push(`${Date.now() % 100_000} every lease renewed`);
    await until('all 11 held once', () => allHeldOnce(wanted));
    // The watches came through the node's loss: a session wanted now is taken, and a gateway sees who has it.
    await directory.put('s12', { name: 's12' });
    await until('s12 taken too', () => allHeldOnce([...wanted, 's12']));
    await until('the holder watch to agree', watchAgrees);
    expect(live.flatMap((w, i) => w.lost.slice(lostBefore[i]))).toEqual([]);
    expect(doubleHeld).toEqual([]);
  }, 60_000);
});
