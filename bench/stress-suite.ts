/**
 * The test suite under load, repeatedly: the `npm test` path (tsc -p tsconfig.json and
 * tsconfig.browser.json, tsc -p tsconfig.test.json, vitest run) while CPU burners (one busy-looping node process per core, nice
 * 0, as the other jobs of a shared CI machine) keep every core busy, `--runs` times in a row
 * (default 3). Stops at the first failure and exits 1 naming the run and the failing tests; prints
 * per run its duration and vitest's summary. The burners start before the first run and are killed
 * after the last, on failure, on Ctrl-C and if this process dies (see child-guard.ts).
 *
 *   npm run test:stress                                  the whole suite, three runs
 *   npm run test:stress -- --runs 1 test/session.test.ts  other arguments go to vitest
 *   options: --runs N, --burners N (default: one per core), --filter <file pattern> (same as a
 *   positional argument), --verbose (stream the runs' output as well as logging it)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, createWriteStream, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stripVTControlCharacters } from 'node:util';
import { projectRoot } from '../src/util/project-path.js';
import { ChildGuard, stopChild } from './child-guard.js';

interface Options {
  runs: number;
  burners: number;
  verbose: boolean;
  vitestArgs: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runs: 3, burners: os.availableParallelism(), verbose: false, vitestArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const count = (name: string): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got "${argv[i] ?? ''}"`);
      return n;
    };
    if (a === '--runs') o.runs = Math.max(1, count('--runs'));
    else if (a === '--burners') o.burners = count('--burners');
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--filter')
      o.vitestArgs.push(argv[++i] ?? ''); // vitest's own file filter: a positional argument
    else if (a !== '--') o.vitestArgs.push(a);
  }
  return o;
}

/** A busy loop that quits when its parent is gone (reparented), checked about every 50 ms. */
const BURNER = `const parent = process.ppid; let x = 0;
for (;;) { for (let i = 0; i < 2e6; i++) x = (x * 1103515245 + 12345) | 0; if (process.ppid !== parent) process.exit(0); }`;

/** CPU seconds a process has used so far (user + system), from /proc; 0 where there is no /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: { fullName: string; status: string; failureMessages?: string[] }[] }[];
}

/** "test/x.test.ts > suite > test: first line of the error", from vitest's JSON report. */
function failuresOf(report: JsonReport, root: string): string[] {
  const out: string[] = [];
  const firstLine = (s: string | undefined): string =>
    stripVTControlCharacters(s ?? '')
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  for (const file of report.testResults) {
    const name = path.relative(root, file.name);
    const failed = file.assertionResults.filter((t) => t.status === 'failed');
    for (const t of failed) out.push(`${name} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    if (failed.length === 0 && file.status === 'failed') out.push(`${name}: ${firstLine(file.message)}`);
  }
  return out;
}

let current: ChildProcess | undefined;
let interrupted = false;
const guard = new ChildGuard(async () => {
  interrupted = true;
  if (current) await stopChild(current, 'SIGTERM', 5000);
});

/** Runs one step with its output appended to `log` (and to ours with --verbose); resolves with its exit code. */
function step(command: string, args: string[], log: string, verbose: boolean, root: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(log, { flags: 'a' });
    out.write(`$ ${[path.basename(command), ...args].join(' ')}\n`);
    const child = guard.spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    current = child;
    for (const s of [child.stdout!, child.stderr!]) {
      s.pipe(out, { end: false });
      if (verbose) s.pipe(process.stdout, { end: false });
    }
    child.once('error', reject);
    child.once('close', (code, signal) => {
      current = undefined;
      out.end(() => resolve(code ?? (signal ? 128 : 1)));
    });
  });
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);
  for (const b of ['tsc', 'vitest']) if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing: run npm install first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-stress-'));
  const burners = Array.from({ length: o.burners }, () => guard.spawn(process.execPath, ['-e', BURNER], { stdio: 'ignore' }));
  const started = performance.now();
  console.log(
    `stress suite: ${o.runs} run(s) of the test suite${o.vitestArgs.length ? ` (vitest ${o.vitestArgs.join(' ')})` : ''} with ${o.burners} CPU burner(s) on ${os.availableParallelism()} core(s); logs in ${dir}`,
  );
  let failedRun = 0;
  for (let run = 1; run <= o.runs && failedRun === 0; run++) {
    const log = path.join(dir, `run-${run}.log`);
    const json = path.join(dir, `run-${run}.json`);
    const t0 = performance.now();
    const steps: [string, string, string[]][] = [
      ['tsc -p tsconfig.json', bin('tsc'), ['-p', 'tsconfig.json']],
      ['tsc -p tsconfig.browser.json', bin('tsc'), ['-p', 'tsconfig.browser.json']],
      ['tsc -p tsconfig.test.json', bin('tsc'), ['-p', 'tsconfig.test.json']],
      // The config's reporters (vitest.config.ts), plus JSON to name the failing tests.
      ['vitest run', bin('vitest'), ['run', '--reporter=default', '--reporter=./test/helpers/summary-reporter.ts', '--reporter=json', `--outputFile.json=${json}`, ...o.vitestArgs]],
    ];
    let failure: string | undefined;
    for (const [label, command, args] of steps) {
      const code = await step(command, args, log, o.verbose, root);
      if (interrupted) return 130;
      if (code !== 0) {
        failure = `${label} exited with code ${code}`;
        break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const text = stripVTControlCharacters(readFileSync(log, 'utf8'));
    const summary = text.split('\n').filter((l) => /^\s*(Test Files|Tests|Errors|Duration)\s/.test(l) || /^\d+ passed, \d+ failed, \d+ skipped$/.test(l));
    console.log(`\nrun ${run}/${o.runs}: ${failure ? 'FAILED' : 'passed'} in ${seconds.toFixed(1)} s`);
    for (const l of summary) console.log(`  ${l.trim()}`);
    if (!failure) continue;
    failedRun = run;
    const failures = existsSync(json) ? failuresOf(JSON.parse(readFileSync(json, 'utf8')) as JsonReport, root) : [];
    console.log(`  ${failure}`);
    for (const f of failures) console.log(`  FAIL ${f}`);
    if (failures.length === 0)
      console.log(
        text
          .split('\n')
          .slice(-30)
          .map((l) => `  | ${l}`)
          .join('\n'),
      );
    console.log(`  full output: ${log}`);
  }
  const wall = (performance.now() - started) / 1000;
  const burned = burners.reduce((s, b) => s + (b.pid ? cpuSeconds(b.pid) : 0), 0);
  guard.killAll();
  if (o.burners > 0) console.log(`\nburners used ${burned.toFixed(0)} CPU-s in ${wall.toFixed(0)} s (${((100 * burned) / wall / o.burners).toFixed(0)}% of a core each)`);
  if (failedRun > 0) {
    console.log(`stress suite FAILED in run ${failedRun} of ${o.runs}`);
    return 1;
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`stress suite passed: ${o.runs} run(s) in a row under load`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`stress suite: ${(e as Error).message}`);
    process.exit(1);
  },
);
