import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DATA_DIR, PROJECT_ROOT } from './data.js';

// The built CLI (npm test runs tsc first), run as a user would run it.
const CLI = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const run = promisify(execFile);

/** Runs `neurorx <args>` to its end: its output and exit code (never throws for a failing command). */
export async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, NEURORX_DATA: DATA_DIR } });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
