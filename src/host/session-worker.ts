import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Observable } from 'rxjs';
import { openSource, type Source } from '../../devices/open-source.js';
import { pipelineRegistry } from '../../pipelines/registry.js';
import type { Config } from '../config/config-schema.js';
import { loadPlugins } from '../config/load-plugins.js';
import { attachBuses } from '../bus/attach-buses.js';
import type { SessionBus } from '../bus/session-bus.js';
import { openSession, type MessageSink, type SessionCore } from '../session/run-session.js';
import type { Chunk } from '../stream/types.js';
import type { FromWorker, ToWorker } from './thread-protocol.js';

/**
 * The entry of a session worker thread: runs the sessions the host creates in it (one by default,
 * for full isolation) and relays everything they broadcast to the host. A failing session ends on
 * its own; an uncaught exception, an out-of-memory or a stall ends the whole thread (the host
 * restarts its sessions).
 */

if (!parentPort) throw new Error('session-worker.js runs as a worker thread of a session host');
const port = parentPort;
const post = (m: FromWorker): void => port.postMessage(m);

interface Hosted {
  core?: SessionCore;
  /** The config's buses (NATS, MQTT), attached in this thread: no hop through the host's main thread. */
  bus?: SessionBus;
  /** Costly topics an attached sink on the host wants. */
  wanted: ReadonlySet<string>;
  stopping?: Promise<void>;
}

const sessions = new Map<string, Hosted>();
/** Per session, milliseconds spent in its signal's synchronous handling (the host splits the thread's CPU by it). */
const decodeMs: Record<string, number> = {};

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'ping':
      post({ type: 'pong', seq: m.seq, decodeMs });
      return;
    case 'create':
      void create(m);
      return;
    case 'control': {
      let error: string | undefined;
      const core = sessions.get(m.id)?.core;
      try {
        if (!core) throw new Error(`session "${m.id}" is not running`);
        core.control(m.message);
      } catch (e) {
        error = (e as Error).message;
      }
      post(error === undefined ? { type: 'result', requestId: m.requestId } : { type: 'result', requestId: m.requestId, error });
      if (core) postHello(m.id, core);
      return;
    }
    case 'wants': {
      const hosted = sessions.get(m.id);
      if (hosted) hosted.wanted = new Set(m.topics);
      return;
    }
    case 'stop':
      void end(m.id);
      return;
  }
});

async function create(m: Extract<ToWorker, { type: 'create' }>): Promise<void> {
  const hosted: Hosted = { wanted: new Set() };
  sessions.set(m.id, hosted);
  try {
    await loadPlugins(m.plugins.specs, m.plugins.baseDir, pipelineRegistry, `session ${m.id}`);
    const plugin = pipelineRegistry.get(m.config.pipeline.kind);
    const pipeline = m.savedModel && plugin.forReplay ? plugin.forReplay(m.config.pipeline, m.savedModel, `session ${m.id}`) : m.config.pipeline;
    const config = { ...m.config, pipeline } as Config;
    const source = timed(await openSource(config.source.uri, config.source.replay), m.id);
    const core = await openSession(config, {
      source,
      log: (line) => post({ type: 'log', id: m.id, line }),
      onModel: (model) => {
        // A model that cannot be saved costs the restart its calibration, not the session.
        try {
          post({ type: 'model', id: m.id, json: model() });
        } catch (e) {
          post({ type: 'log', id: m.id, line: `the model could not be handed to the host: ${(e as Error).message}` });
        }
      },
    });
    hosted.core = core;
    if (hosted.stopping || sessions.get(m.id) !== hosted) {
      await core.stop();
      return;
    }
    const sink = sinkOf(m.id, hosted, core);
    core.attach(sink);
    if (config.bus)
      hosted.bus = await attachBuses(
        core,
        config.bus,
        (line) => post({ type: 'log', id: m.id, line }),
        (status) => sink.broadcast(status),
      );
    if (hosted.stopping || sessions.get(m.id) !== hosted) {
      await hosted.bus?.close();
      await core.stop();
      return;
    }
    core.start();
    post({ type: 'opened', id: m.id, topics: core.topics, hello: core.hello(), catchUp: core.catchUp() });
    void core.done.then(({ error }) => {
      if (sessions.get(m.id) === hosted && !hosted.stopping) void end(m.id, error?.message ?? (core.source.finite ? undefined : 'the pipeline ended'));
    });
  } catch (e) {
    // (stopped meanwhile: the host was told already)
    if (sessions.get(m.id) !== hosted || hosted.stopping) return;
    sessions.delete(m.id);
    delete decodeMs[m.id];
    post({ type: 'ended', id: m.id, error: (e as Error).message });
  }
}

/** Stops a session (for good, or after it failed with `error`) and tells the host. */
async function end(id: string, error?: string): Promise<void> {
  const hosted = sessions.get(id);
  if (!hosted) return post({ type: 'ended', id });
  if (hosted.stopping) return;
  hosted.stopping = (async () => {
    try {
      await hosted.bus?.close();
      await hosted.core?.stop();
    } catch (e) {
      post({ type: 'log', id, line: `stopping: ${(e as Error).message}` });
    }
  })();
  await hosted.stopping;
  sessions.delete(id);
  delete decodeMs[id];
  post(error === undefined ? { type: 'ended', id } : { type: 'ended', id, error });
}

/** Relays a session's messages to the host; its hello with every status (they change it). */
function sinkOf(id: string, hosted: Hosted, core: SessionCore): MessageSink {
  return {
    broadcast(message) {
      post({ type: 'message', id, message });
      if (message.type === 'status') postHello(id, core);
    },
    wants: (topic) => hosted.wanted.has(topic),
  };
}

function postHello(id: string, core: SessionCore): void {
  post({ type: 'hello', id, hello: core.hello(), catchUp: core.catchUp() });
}

/** The source with the time its chunks take to be handled (synchronously: filters, decoders, sends) added up. */
function timed(source: Source, id: string): Source {
  decodeMs[id] = 0;
  const chunks$ = new Observable<Chunk>((subscriber) =>
    source.chunks$.subscribe({
      next(chunk) {
        const t = performance.now();
        subscriber.next(chunk);
        decodeMs[id] = (decodeMs[id] ?? 0) + performance.now() - t;
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => subscriber.complete(),
    }),
  );
  return { ...source, chunks$ };
}

post({ type: 'ready' });
