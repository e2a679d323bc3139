import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../src/util/project-path.js';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const EXAMPLE = projectPath('examples', 'library', 'decode-motor-imagery.js');
const version = (name: string): string => (JSON.parse(readFileSync(projectPath('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The package as users get it: `npm pack`, installed into a fresh project (from npm's cache, which
 * `npm ci` filled; the registry otherwise), every entry point imported there, its types resolved by
 * tsc, the README's library example run as written, the browser client bundled for the browser.
 */
describe('the packed package in a fresh project', () => {
  let dir: string;
  let consumer: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'neurorx-pack-'));
    consumer = path.join(dir, 'consumer');
    mkdirSync(consumer);
    // dist/ is built by `npm test` before the tests run
    await exec(npm, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: projectPath() });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const tools = ['typescript', 'esbuild', '@types/node'].map((p) => `${p}@${version(p)}`);
    await exec(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(dir, tarball), ...tools], { cwd: consumer, maxBuffer: 16 << 20 });
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships what it needs and nothing of the tests', () => {
    const files = (sub: string): string[] => readdirSync(path.join(consumer, 'node_modules', 'neurorx', sub), { recursive: true }).map(String);
    expect(files('dist')).toEqual(
      expect.arrayContaining([
        path.join('src', 'index.js'),
        path.join('src', 'index.d.ts'),
        path.join('src', 'cli', 'main.js'),
        path.join('devices', 'lsl', 'index.d.ts'),
        path.join('browser', 'src', 'server', 'dashboard', 'main.js'),
        path.join('browser', 'examples', 'game', 'game.js'),
      ]),
    );
    expect(files('dist').some((f) => f.startsWith('test') || f.startsWith('bench'))).toBe(false);
  });

  it('installs the neurorx command', async () => {
    const { stdout } = await exec(path.join(consumer, 'node_modules', '.bin', 'neurorx'), ['--version'], { cwd: consumer });
    expect(stdout.trim()).toBe((JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version);
  });

  it('every entry point imports, and the types resolve in TypeScript', async () => {
    const code = `
      import { openSource, bandpass, slidingWindows, startSession, pipelineRegistry, z, type Chunk, type PipelinePlugin } from 'neurorx';
      import { WelchPsd, notch, type Window } from 'neurorx/dsp';
      import { fitDecoder, DECODER_KINDS, type Decoder } from 'neurorx/ml';
      import { resolveStreams, LslOutlet, type LslStreamInfo } from 'neurorx/lsl';
      import { openCytonSource, listSerialPorts } from 'neurorx/serial';
      import { NeurorxClient, type DecisionMessage } from 'neurorx/client';
      import { firstValueFrom, take, toArray } from 'rxjs';

      const source = await openSource('synthetic:motor-imagery?seed=1', { speed: 'max' });
      const windows: Window[] = await firstValueFrom(source.chunks$.pipe(notch({ freq: 50 }), bandpass({ low: 8, high: 30 }), slidingWindows({ length: 1, hop: 0.5 }), take(4), toArray()));
      const chunk: Chunk | undefined = undefined;
      const decoder: Decoder | undefined = undefined;
      const info: LslStreamInfo | undefined = undefined;
      const message: DecisionMessage | undefined = undefined;
      const plugin: PipelinePlugin | undefined = undefined;
      const psd = new WelchPsd({ sampleRate: 160, channels: 1, nperseg: 64 });
      console.log(JSON.stringify({
        windows: windows.length, samples: windows[0].samples, kinds: pipelineRegistry.kinds, decoders: DECODER_KINDS.length, bins: psd.bins,
        functions: [startSession, fitDecoder, resolveStreams, openCytonSource, listSerialPorts].every((f) => typeof f === 'function'),
        classes: [LslOutlet, NeurorxClient].every((c) => typeof c === 'function'), zod: typeof z.object, unused: [chunk, decoder, info, message, plugin].length,
      }));
    `;
    writeFileSync(path.join(consumer, 'main.ts'), code);
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], outDir: 'out' }, files: ['main.ts'] }),
    );
    await exec(process.execPath, [path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    const { stdout } = await exec(process.execPath, [path.join(consumer, 'out', 'main.js')], { cwd: consumer });
    expect(JSON.parse(stdout.trim())).toEqual({
      windows: 4,
      samples: 160,
      kinds: ['motor-imagery', 'emotion', 'meg-image', 'erp', 'ssvep'],
      decoders: 6,
      bins: 33,
      functions: true,
      classes: true,
      zod: 'function',
      unused: 5,
    });
  }, 300_000);

  it("runs the README's library example as written", async () => {
    const readme = readFileSync(projectPath('README.md'), 'utf8');
    const example = readFileSync(EXAMPLE, 'utf8');
    expect(readme).toContain('```js\n' + example + '```');
    copyFileSync(EXAMPLE, path.join(consumer, 'example.js'));
    // type-checked as a user's editor would (// @ts-check), then run
    await exec(
      process.execPath,
      [
        path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--allowJs',
        '--checkJs',
        '--module',
        'nodenext',
        '--target',
        'es2022',
        '--skipLibCheck',
        '--types',
        'node',
        path.join(consumer, 'example.js'),
      ],
      { cwd: consumer },
    );
    const { stdout } = await exec(process.execPath, ['example.js'], { cwd: consumer });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(20);
    for (const line of lines) expect(line).toMatch(/^\d+\.\d left (0|1)\.\d\d {2}right (0|1)\.\d\d$/);
    // the decoder follows the simulated cues: both classes win somewhere
    expect(lines.some((l) => / left (0\.[6-9]|1\.00)/.test(l))).toBe(true);
    expect(lines.some((l) => / right (0\.[6-9]|1\.00)/.test(l))).toBe(true);
  }, 300_000);

  it('neurorx/client bundles for the browser with no Node built-ins', async () => {
    writeFileSync(path.join(consumer, 'page.js'), "import { NeurorxClient } from 'neurorx/client';\nwindow.client = new NeurorxClient('ws://127.0.0.1:8765');\n");
    const out = path.join(consumer, 'page.bundle.js');
    // esbuild fails on any Node built-in when bundling for the browser
    await exec(path.join(consumer, 'node_modules', '.bin', 'esbuild'), ['page.js', '--bundle', '--platform=browser', '--format=esm', `--outfile=${out}`], { cwd: consumer });
    const bundle = readFileSync(out, 'utf8');
    expect(bundle).toContain('NeurorxClient');
    expect(bundle).not.toMatch(/require\(["']node:|from ["']node:/);
  }, 120_000);
});
