import type { JetStreamClient, NatsConnection } from 'nats';

/** A connection or a JetStream context of one; the bus modules take either. */
export type NatsLike = NatsConnection | JetStreamClient;

/** How long a JetStream request waits for its answer (ms); short, so a node that vanished does not stall a heartbeat. */
export const JETSTREAM_TIMEOUT_MS = 2000;

export function jetStreamOf(nats: NatsLike, timeoutMs = JETSTREAM_TIMEOUT_MS): JetStreamClient {
  return 'jetstream' in nats ? nats.jetstream({ timeout: timeoutMs }) : nats;
}

/**
 * Replicas for a bucket created now: min(3, nodes in the cluster). The server tells a client the
 * client URLs of every node of its cluster (itself included) when it connects; a lone server
 * tells none, so 1.
 */
export function clusterReplicas(nats: NatsLike): number {
  // A JetStream context built by nats.js carries its connection (not in its typed interface).
  const nc = 'jetstream' in nats ? nats : (nats as { nc?: NatsConnection }).nc;
  const info = nc?.info;
  const nodes = info?.cluster ? Math.max(1, info.connect_urls?.length ?? 1) : 1;
  return Math.min(3, nodes);
}

/**
 * Runs `open` (binding or creating a bucket, an idempotent write) until it succeeds or `withinMs`
 * passes: a cluster that just started, or a stream that just lost its leader's node, answers
 * JetStream requests only once it has a leader (seconds: 5-7 s measured on loopback).
 */
export async function whenJetStreamAnswers<T>(what: string, open: () => Promise<T>, withinMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await open();
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      const code = (e as { code?: unknown }).code;
      const transient = code === '503' || code === 'TIMEOUT' || /timeout|no responders|insufficient resources|no suitable peers|leader|not available|jetstream not (enabled|ready)/i.test(message);
      if (!transient || Date.now() - t0 > withinMs) throw new Error(`${what}: ${message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
