import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the real recordings live: $NEURORX_DATA, default ../shared/data beside the project. */
export const DATA_DIR = process.env.NEURORX_DATA ?? path.resolve(projectRoot, '..', 'shared', 'data');

/**
 * Resolves a file under the data directory. Returns undefined (and the caller skips) when it is
 * missing on a developer machine; in CI (CI=true) missing data is an error.
 */
export function dataFile(relative: string): string | undefined {
  const full = path.join(DATA_DIR, relative);
  if (existsSync(full)) return full;
  const message = `real data missing: ${full} (set NEURORX_DATA to the shared data folder)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(message);
  console.warn(`skipping: ${message}`);
  return undefined;
}

export const PROJECT_ROOT = projectRoot;
export const FIXTURES = path.join(projectRoot, 'test', 'fixtures');
