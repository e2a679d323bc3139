import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The project's root folder (where package.json is), whether running from src/ or dist/. */
export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('neurorx: cannot find the project root (package.json)');
    dir = up;
  }
  root = dir;
  return dir;
}

/** A path inside the project. */
export function projectPath(...parts: string[]): string {
  return path.join(projectRoot(), ...parts);
}
