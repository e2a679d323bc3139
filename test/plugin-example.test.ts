import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { map } from 'rxjs';
import { z } from 'zod';
import type { PipelinePlugin } from '../pipelines/pipeline-plugin.js';
import { pipelineRegistry } from '../pipelines/registry.js';
import { loadConfig, parseConfig } from '../src/config/config-schema.js';
import { startSession, type Session } from '../src/session/run-session.js';
import { projectPath } from '../src/util/project-path.js';
import { connect, until } from './helpers/ws-client.js';
import { like } from './helpers/like.js';

const run = promisify(execFile);
const CLI = projectPath('dist', 'src', 'cli', 'main.js');
const CONFIG = projectPath('examples', 'alpha-feedback', 'config.json');

describe('a pipeline plug-in from outside src/ (examples/alpha-feedback)', () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  it('loads from its config, and its feedback messages reach a WebSocket client subscribed to their topic', async () => {
    const config = await loadConfig(CONFIG);
    config.server.port = 0;
    config.source.replay = { speed: 10, chunkSize: 16, loop: false };
    session = await startSession(config);
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.some((m) => m.type === 'hello'));
    const hello = messages.find((m) => m.type === 'hello')!;
    expect(hello.pipeline).toMatchObject({ kind: 'alpha-feedback' });
    expect(hello.topics).toContain('feedback');
    expect(hello.subscribed).toContain('feedback');
    await until(() => messages.filter((m) => m.type === 'feedback').length >= 20, 60_000);
    const feedback = messages.filter((m) => m.type === 'feedback');
    expect(feedback.map((m) => m.seq)).toEqual(feedback.map((_, i) => i));
    for (const m of feedback) {
      expect(m.score).toBeGreaterThanOrEqual(0);
      expect(m.score).toBeLessThanOrEqual(1);
      expect(m.alpha).toBeGreaterThan(0);
      expect(m.v).toBe(2);
    }
    // unsubscribed, the client gets no more of them
    ws.send(JSON.stringify({ type: 'unsubscribe', topics: ['feedback'] }));
    await until(() => messages.some((m) => m.type === 'status' && Array.isArray(m.subscribed) && !(m.subscribed as string[]).includes('feedback')));
    const after = messages.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(messages.slice(after).filter((m) => m.type === 'feedback')).toEqual([]);
    // an unknown topic is named
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['feedback', 'nonsense'] }));
    await until(() => messages.some((m) => m.type === 'error'));
    expect(messages.find((m) => m.type === 'error')).toMatchObject({ path: 'topics.1', message: like.stringMatching(/unknown topic "nonsense"/) });
    ws.close();
  }, 120_000);

  it('a plug-in that fails on some events loses those events, not the session', async () => {
    const flaky: PipelinePlugin<{ kind: 'flaky-test' }, number> = {
      kind: 'flaky-test',
      description: 'fails on every third chunk',
      settings: z.object({ kind: z.literal('flaky-test') }).strict(),
      messages: { tick: z.object({ type: z.literal('tick'), n: z.number() }) },
      outputs: ['tick'],
      open: () => ({ run: (source) => source.chunks$.pipe(map((_, i) => i)) }),
      describe: (n) => {
        if (n % 3 === 2) throw new Error(`chunk ${n} is not to my taste`);
        return { kind: 'message', message: { type: 'tick', n } };
      },
    };
    pipelineRegistry.register(flaky);
    session = await startSession(parseConfig({ source: { uri: 'synthetic:motor-imagery?seed=1', replay: { speed: 5, chunkSize: 16 } }, pipeline: { kind: 'flaky-test' }, server: { port: 0 } }));
    const { ws, messages } = await connect(session.server.address.url);
    await until(() => messages.filter((m) => m.type === 'tick').length >= 30, 60_000);
    const errors = messages.filter((m) => m.type === 'error');
    expect(errors.length).toBeGreaterThan(5);
    expect(errors[0].message).toMatch(/pipeline flaky-test: an event could not be handled: chunk \d+ is not to my taste/);
    const ticks = messages.filter((m) => m.type === 'tick').map((m) => m.n as number);
    expect(ticks.every((n) => n % 3 !== 2)).toBe(true);
    expect(ticks.at(-1)! - ticks[0]).toBeGreaterThan(30); // still running long after the first failure
    ws.close();
  }, 120_000);

  it('`neurorx schema --config` lists its settings and its message', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'schema', '--config', CONFIG]);
    const doc = JSON.parse(stdout) as { topics: string[]; serverToClient: Record<string, { properties: Record<string, unknown> }>; config: unknown };
    expect(doc.topics).toContain('feedback');
    expect(Object.keys(doc.serverToClient.feedback.properties)).toEqual(expect.arrayContaining(['v', 'type', 'seq', 'timestamp', 'alpha', 'score']));
    expect(JSON.stringify(doc.config)).toContain('"alpha-feedback"');
  });

  it('a config naming a missing plug-in, or one whose kind is taken, fails naming the plug-in', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'neurorx-plugin-'));
    const missing = path.join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify({ plugins: ['./nowhere.js'], source: { uri: 'synthetic:motor-imagery' }, pipeline: { kind: 'alpha-feedback' } }));
    await expect(loadConfig(missing)).rejects.toThrow(/plugins\.0 \("\.\/nowhere\.js"\): cannot be loaded/);
    writeFileSync(path.join(dir, 'taken.js'), `import { motorImageryPlugin } from '${pathToFileURL(projectPath('dist', 'src', 'index.js')).href}';\nexport default { ...motorImageryPlugin };\n`);
    const taken = path.join(dir, 'taken.json');
    writeFileSync(taken, JSON.stringify({ plugins: ['./taken.js'], source: { uri: 'synthetic:motor-imagery' }, pipeline: { kind: 'motor-imagery' } }));
    await expect(loadConfig(taken)).rejects.toThrow(/plugins\.0 \("\.\/taken\.js"\): .*"motor-imagery" is registered already/);
    const unknown = path.join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ source: { uri: 'synthetic:motor-imagery' }, pipeline: { kind: 'p300-speller' } }));
    await expect(loadConfig(unknown)).rejects.toThrow(/pipeline\.kind/);
  });
});
