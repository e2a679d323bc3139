import { randomUUID } from 'node:crypto';
import type { JetStreamClient, KV, KvEntry, NatsConnection, QueuedIterator } from 'nats';
import { clusterReplicas, jetStreamOf, whenJetStreamAnswers, type NatsLike } from './jetstream-context.js';
import { SessionDirectory, type DirectoryWatch } from './session-directory.js';
import { BUCKETS } from './subjects.js';

/**
 * Which worker runs which session: compare-and-set leases in the key-value bucket neurorx_leases.
 * NATS decides every conflict (JetStream applies one write per revision); nothing here votes.
 *
 * - Key <session>: a lease, {"worker", "instance", "since"}. A worker claims a free session with
 *   kv.create (fails when someone has it), renews every `heartbeatMs` with kv.update(key, value,
 *   lastRevision) and releases with a delete at its revision. A renewal the bucket refuses means
 *   another worker took the session: the holder stops it at once.
 * - Key _worker.<name>: the worker's own heartbeat, written every `heartbeatMs`; it counts the live
 *   workers (for the balance) and it is the observer's clock (below).
 * - Expiry: a lease whose revision has not changed for `ttlMs` is taken over with kv.update at the
 *   observed revision (exactly one taker wins). The time is the observer's own, and it only runs
 *   while the observer sees its own heartbeats come back through the bucket: each round trip adds
 *   the time since the previous one, at most 2 heartbeats. So while the bucket cannot take writes
 *   (a node lost, its stream electing a new leader), no lease ages and nobody steals a session
 *   whose holder could not renew either; no clocks are compared across machines.
 * - The holder ages its lease the same way, on its own bus clock, from the moment it sent the write
 *   that made the current revision. At `ttlMs - heartbeatMs` (its renewals stuck or lost while the
 *   bucket takes other writes) it stops the session first, one heartbeat before anyone may take
 *   it, so that two workers never run it at once; the lease is left as it is, and if it was still
 *   its own after all, the holder's next claim takes it back.
 * - Balance: a worker's share is ceil(wanted / live workers) (live: a _worker key changed within
 *   `ttlMs`, itself included). It claims a free or expired session only while it holds fewer than
 *   its share, and only once it has seen a heartbeat round trip (so it has heard of the others).
 *   The shares add up to at least the wanted sessions, so each is claimed; the bucket's
 *   compare-and-set settles two workers claiming the same one. A worker that holds more than its
 *   share + `slack` (it started first, or a worker joined) releases its newest session, one per
 *   heartbeat, for a worker with room to take.
 */

export interface LeaseValue {
  readonly worker: string;
  /** One run of the worker (a restarted worker of the same name does not own its old leases). */
  readonly instance: string;
  /** When this worker took the session (ms since the epoch, the worker's clock; for people only). */
  readonly since: number;
}

/**
 * Why a worker no longer runs a session: another worker has it, its lease went unrenewed so long that
 * another may take it any moment, the directory no longer wants it, or it was released here.
 */
export type LoseReason = 'lost' | 'expired' | 'unwanted' | 'released';

export interface LeasePoolOptions {
  /** The connection (or a JetStream context of it); the pool does not close it. */
  readonly nc?: NatsConnection;
  readonly js?: JetStreamClient;
  /** This worker's name (a NATS key token: letters, digits, '-', '_'). */
  readonly worker: string;
  /** A lease not renewed for this long (the observer's bus time) is expired; default 3000. */
  readonly ttlMs?: number;
  /** Renewal and heartbeat period; default 1000. */
  readonly heartbeatMs?: number;
  /** Sessions a worker may hold beyond its share before it gives one away; default 1. */
  readonly slack?: number;
  /** Replicas of the buckets when this creates them; default min(3, nodes in the cluster). */
  readonly replicas?: number;
  /** The wanted sessions; default: the directory on the same connection. */
  readonly directory?: SessionDirectory;
  readonly log?: (line: string) => void;
  /** This worker now holds the session: start it. */
  readonly onAcquire?: (id: string, config: unknown) => void;
  /**
   * This worker no longer holds the session: stop it. For "unwanted" and "released" the lease is
   * deleted once the returned promise settles (so the next holder starts after this one stopped);
   * for "lost" someone else already has it.
   */
  readonly onLose?: (id: string, why: LoseReason) => void | Promise<void>;
}

const DROPPED: Record<LoseReason, string> = {
  lost: 'lost it to another worker',
  expired: 'let it go (its lease may be taken over)',
  unwanted: 'stops it (no longer wanted)',
  released: 'released it',
};

/** The lease key prefix of a worker's heartbeat (session ids hold no '.', so no session key has it). */
export const WORKER_KEY_PREFIX = '_worker.';

const WORKER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

interface Observed {
  readonly revision: number;
  readonly value: LeaseValue | undefined;
  /** The bus time when this revision was first seen. */
  readonly seenBus: number;
}

interface Held {
  revision: number;
  readonly value: LeaseValue;
  /** The renewal in flight (one at a time: a second at the same revision would conflict with the first). */
  renewing?: Promise<void>;
  /** Renewals in a row that did not reach the bucket. */
  failures: number;
  /** The bus clock when the write that made `revision` was sent: the lease's age counts from it. */
  writtenBus: number;
}

const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

function leaseOf(e: KvEntry): LeaseValue | undefined {
  try {
    const v = e.json<Partial<LeaseValue>>();
    return typeof v?.worker === 'string' && typeof v.instance === 'string' ? { worker: v.worker, instance: v.instance, since: Number(v.since) } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the bucket refused a write because the key is not at the revision given (someone else wrote it). */
function isConflict(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err.api_error?.err_code === 10071 || /wrong last sequence/i.test(err.message ?? '');
}

export class LeasePool {
  readonly worker: string;
  readonly instance = randomUUID();
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly slack: number;
  private readonly log: (line: string) => void;
  private readonly js: JetStreamClient;
  private readonly nc: NatsConnection | undefined;

  private kv: KV | undefined;
  private directory: SessionDirectory | undefined;
  private readonly wanted = new Map<string, unknown>();
  private readonly leases = new Map<string, Observed>();
  private readonly workers = new Map<string, Observed>();
  private readonly holding = new Map<string, Held>();
  private readonly claiming = new Set<string>();
  /** The observer's clock (ms): advances only while its own heartbeats come back (see the top). */
  private busClock = 0;
  private lastOwnHeartbeatAt: number | undefined;
  private heartbeatsSeen = 0;
  private dirWatch: DirectoryWatch | undefined;
  private leaseWatch: QueuedIterator<KvEntry> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeating: Promise<void> | undefined;
  private heartbeatFailures = 0;
  private claiming_: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: LeasePoolOptions) {
    if (!WORKER_NAME.test(options.worker)) throw new Error(`worker name ${JSON.stringify(options.worker)}: use 1-64 letters, digits, '-' or '_'`);
    const nats = options.js ?? options.nc;
    if (!nats) throw new Error('LeasePool needs a NATS connection (nc) or a JetStream context (js)');
    this.worker = options.worker;
    this.ttlMs = options.ttlMs ?? 3000;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.slack = options.slack ?? 1;
    if (!(this.heartbeatMs > 0 && this.ttlMs >= 2 * this.heartbeatMs)) throw new Error(`ttlMs (${this.ttlMs}) must be at least twice heartbeatMs (${this.heartbeatMs})`);
    this.log = options.log ?? (() => {});
    this.js = jetStreamOf(nats);
    this.nc = options.nc ?? (options.js as { nc?: NatsConnection } | undefined)?.nc;
  }

  /** Binds the buckets (creating them), starts watching, heartbeating and claiming. */
  async start(): Promise<void> {
    const nats = this.options.js ?? this.options.nc!;
    const replicas = this.options.replicas ?? clusterReplicas(nats);
    this.directory = this.options.directory ?? (await SessionDirectory.open(nats, { replicas }));
    this.kv = await whenJetStreamAnswers(`bucket ${BUCKETS.leases}`, () => this.js.views.kv(BUCKETS.leases, { replicas, history: 1 }));
    this.dirWatch = await this.directory.watch((c) => {
      if (c.kind === 'put') {
        this.wanted.set(c.id, c.config);
        return;
      }
      this.wanted.delete(c.id);
      if (this.holding.has(c.id)) void this.drop(c.id, 'unwanted');
    }, this.log);
    await this.dirWatch.initialized;
    await this.watchLeases();
    // A fixed period, whatever a slow request does: a late heartbeat would make this worker look dead.
    this.tick();
    this.timer = setInterval(() => this.tick(), this.heartbeatMs);
  }

  /** The sessions this worker holds. */
  held(): string[] {
    return [...this.holding.keys()];
  }

  /** Workers whose heartbeat this worker saw change within the ttl (itself included). */
  liveWorkers(): string[] {
    const live = new Set([this.worker]);
    for (const [name, w] of this.workers) if (this.busClock - w.seenBus < this.ttlMs) live.add(name);
    return [...live];
  }

  /** Stops the session here and frees its lease for another worker. */
  async release(id: string): Promise<void> {
    await this.drop(id, 'released');
  }

  /** Releases every session, removes this worker's heartbeat and stops; the connection stays open. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.timer);
      await Promise.all([this.heartbeating, this.claiming_]);
      await Promise.all(this.held().map((id) => this.drop(id, 'released')));
      this.dirWatch?.stop();
      this.leaseWatch?.stop();
      await this.kv?.delete(WORKER_KEY_PREFIX + this.worker).catch(() => {});
    })());
  }

  private async watchLeases(): Promise<void> {
    let markInitialized!: () => void;
    const initialized = new Promise<void>((resolve) => (markInitialized = resolve));
    const it = await this.kv!.watch({ initializedFn: () => markInitialized() });
    this.leaseWatch = it;
    void (async () => {
      for await (const e of it) this.observe(e);
    })()
      .catch((e: unknown) => this.log(`${BUCKETS.leases} watch failed: ${(e as Error).message}`))
      .finally(() => {
        // The watch should live as long as the pool; if it ends, watch again (observing is idempotent).
        if (!this.closed && !this.nc?.isClosed()) {
          this.log(`${BUCKETS.leases} watch ended; watching again`);
          setTimeout(() => void this.watchLeases().catch((e: unknown) => this.log(`${BUCKETS.leases} watch: ${(e as Error).message}`)), this.heartbeatMs);
        }
      });
    await initialized;
  }

  private observe(e: KvEntry): void {
    const put = e.operation === 'PUT';
    if (e.key.startsWith(WORKER_KEY_PREFIX)) {
      const name = e.key.slice(WORKER_KEY_PREFIX.length);
      if (!put) {
        this.workers.delete(name);
        return;
      }
      const value = leaseOf(e);
      if (value?.instance === this.instance) {
        // Our own heartbeat came back: the bucket takes writes, so the bus clock runs.
        const now = performance.now();
        if (this.lastOwnHeartbeatAt !== undefined) this.busClock += Math.min(now - this.lastOwnHeartbeatAt, 2 * this.heartbeatMs);
        this.lastOwnHeartbeatAt = now;
        this.heartbeatsSeen++;
      }
      if (this.workers.get(name)?.revision !== e.revision) this.workers.set(name, { revision: e.revision, value, seenBus: this.busClock });
      return;
    }
    const held = this.holding.get(e.key);
    if (!put) {
      this.leases.delete(e.key);
      if (held && e.revision > held.revision) void this.drop(e.key, 'lost');
      return;
    }
    const value = leaseOf(e);
    if (this.leases.get(e.key)?.revision !== e.revision) this.leases.set(e.key, { revision: e.revision, value, seenBus: this.busClock });
    if (held && e.revision > held.revision && value?.instance !== this.instance) void this.drop(e.key, 'lost');
  }

  /** One period: heartbeat, renew, let go of what is no longer wanted, claim; each only when its last one is done. */
  private tick(): void {
    if (this.closed) return;
    if (this.nc?.isClosed()) {
      // The connection is gone for good: nothing can be renewed, so nothing is ours any more.
      this.log(`lease pool ${this.worker}: connection closed, stopping ${this.holding.size} session(s)`);
      this.closed = true;
      clearInterval(this.timer);
      for (const id of this.held()) void this.drop(id, 'lost');
      this.dirWatch?.stop();
      this.leaseWatch?.stop();
      return;
    }
    const kv = this.kv!;
    if (!this.heartbeating) {
      const heartbeat = { worker: this.worker, instance: this.instance, since: Date.now(), held: this.holding.size };
      this.heartbeating = kv
        .put(WORKER_KEY_PREFIX + this.worker, encode(heartbeat))
        .then(
          () => {
            if (this.heartbeatFailures) this.log(`heartbeat of ${this.worker}: written again after ${this.heartbeatFailures} failed attempt(s)`);
            this.heartbeatFailures = 0;
          },
          (e: unknown) => {
            if (this.heartbeatFailures++ === 0) this.log(`heartbeat of ${this.worker} failed (${(e as Error).message}), trying again`);
          },
        )
        .finally(() => (this.heartbeating = undefined));
    }
    for (const [id, held] of this.holding) {
      const age = this.busClock - held.writtenBus;
      if (!this.wanted.has(id)) void this.drop(id, 'unwanted');
      else if (age >= this.ttlMs - this.heartbeatMs) {
        this.log(`lease ${id}: not renewed for ${Math.round(age)} ms while the bucket takes writes (another worker may take it at ${this.ttlMs} ms): stopping it here`);
        void this.drop(id, 'expired');
      } else held.renewing ??= this.renew(kv, id, held).finally(() => (held.renewing = undefined));
    }
    this.claiming_ ??= this.claim(kv)
      .catch((e: unknown) => this.log(`lease pool ${this.worker}: ${(e as Error).message}`))
      .finally(() => (this.claiming_ = undefined));
  }

  private async renew(kv: KV, id: string, held: Held): Promise<void> {
    const sentBus = this.busClock;
    try {
      // Kept even when the session is being dropped meanwhile: its release deletes at this revision.
      held.revision = await kv.update(id, encode(held.value), held.revision);
      held.writtenBus = sentBus;
      if (held.failures) this.log(`lease ${id}: renewed again after ${held.failures} failed attempt(s)`);
      held.failures = 0;
    } catch (e) {
      if (this.holding.get(id) !== held) return;
      if (isConflict(e)) void this.drop(id, 'lost');
      // Anything else (a timeout while a node is lost): still ours until the bucket says otherwise.
      else if (held.failures++ === 0) this.log(`lease ${id}: renewal failed (${(e as Error).message}), trying again`);
    }
  }

  private async claim(kv: KV): Promise<void> {
    // Before a heartbeat round trip this worker may not have heard of the others yet.
    if (this.heartbeatsSeen < 2 || this.closed) return;
    const share = Math.ceil(this.wanted.size / this.liveWorkers().length);
    if (this.holding.size > share + this.slack) {
      // Map order is acquisition order: give away the newest (the least settled) one.
      const newest = this.held().at(-1)!;
      this.log(
        `${this.worker} holds ${this.holding.size}, more than its share ${share} + ${this.slack} (${this.wanted.size} sessions, live workers ${this.liveWorkers().join(' ')}): gives ${newest} away`,
      );
      void this.drop(newest, 'released');
      return;
    }
    const room = share - this.holding.size - this.claiming.size;
    if (room <= 0) return;
    const candidates: { id: string; revision?: number }[] = [];
    for (const id of this.wanted.keys()) {
      if (this.holding.has(id) || this.claiming.has(id)) continue;
      const lease = this.leases.get(id);
      if (!lease) candidates.push({ id });
      else if (lease.value?.instance === this.instance || this.busClock - lease.seenBus >= this.ttlMs) candidates.push({ id, revision: lease.revision });
    }
    // Workers try the free sessions in different orders, so they seldom race for the same one.
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    await Promise.all(candidates.slice(0, room).map((c) => this.take(kv, c.id, c.revision)));
  }

  private async take(kv: KV, id: string, observedRevision: number | undefined): Promise<void> {
    const value: LeaseValue = { worker: this.worker, instance: this.instance, since: Date.now() };
    this.claiming.add(id);
    const sentBus = this.busClock;
    let revision: number;
    try {
      revision = observedRevision === undefined ? await kv.create(id, encode(value)) : await kv.update(id, encode(value), observedRevision);
    } catch (e) {
      if (!isConflict(e)) this.log(`lease ${id}: claim failed (${(e as Error).message})`);
      return;
    } finally {
      this.claiming.delete(id);
    }
    const held: Held = { revision, value, failures: 0, writtenBus: sentBus };
    this.holding.set(id, held);
    if (this.closed || !this.wanted.has(id)) {
      await this.drop(id, this.closed ? 'released' : 'unwanted');
      return;
    }
    this.log(`lease ${id}: ${this.worker} took it${observedRevision === undefined ? '' : ' over'}`);
    try {
      this.options.onAcquire?.(id, this.wanted.get(id));
    } catch (e) {
      this.log(`session ${id}: starting it failed (${(e as Error).message}); releasing it`);
      await this.drop(id, 'released');
    }
  }

  /** Stops holding `id`: tells the owner at once, then (unless lost or expired) deletes the lease at its revision. */
  private async drop(id: string, why: LoseReason): Promise<void> {
    const held = this.holding.get(id);
    if (!held) return;
    this.holding.delete(id);
    this.log(`lease ${id}: ${this.worker} ${DROPPED[why]}`);
    try {
      await this.options.onLose?.(id, why);
    } catch (e) {
      this.log(`session ${id}: stopping it failed: ${(e as Error).message}`);
    }
    // (An expired lease is left as it is: its write may be stuck rather than lost, and a lease of this
    // worker's own is taken back at the next claim.)
    if (why === 'lost' || why === 'expired') return;
    // A renewal in flight moves the revision the delete must name.
    await held.renewing;
    await this.kv?.delete(id, { previousSeq: held.revision }).catch((e: unknown) => {
      if (!isConflict(e)) this.log(`lease ${id}: release failed (${(e as Error).message}); it expires in ${this.ttlMs} ms`);
    });
  }
}

/** A running watch of the lease holders. */
export interface HolderWatch {
  /** Resolves once the holders at the start were reported. */
  readonly initialized: Promise<void>;
  stop(): void;
}

/**
 * Calls `onChange(id, worker)` whenever another worker run (or nobody: undefined) holds a session,
 * the holders at the start first; renewals are not changes. A gateway refreshes a RemoteSession's
 * hello with it when the session moves.
 */
export async function watchLeaseHolders(
  nats: NatsLike,
  onChange: (id: string, worker: string | undefined) => void,
  options: { readonly replicas?: number; readonly log?: (line: string) => void } = {},
): Promise<HolderWatch> {
  const js = jetStreamOf(nats);
  const replicas = options.replicas ?? clusterReplicas(nats);
  const kv = await whenJetStreamAnswers(`bucket ${BUCKETS.leases}`, () => js.views.kv(BUCKETS.leases, { replicas, history: 1 }));
  const instances = new Map<string, string>();
  let markInitialized!: () => void;
  const initialized = new Promise<void>((resolve) => (markInitialized = resolve));
  const it = await kv.watch({ initializedFn: () => markInitialized() });
  void (async () => {
    for await (const e of it) {
      if (e.key.startsWith(WORKER_KEY_PREFIX)) continue;
      const value = e.operation === 'PUT' ? leaseOf(e) : undefined;
      if (instances.get(e.key) === value?.instance) continue;
      if (value) instances.set(e.key, value.instance);
      else instances.delete(e.key);
      onChange(e.key, value?.worker);
    }
  })().catch((e: unknown) => options.log?.(`${BUCKETS.leases} watch ended: ${(e as Error).message}`));
  return { initialized, stop: () => it.stop() };
}
