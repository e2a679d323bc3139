import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectPath } from '../util/project-path.js';
import { messageJsonSchemas } from './messages.js';
import { pipelineRegistry } from '../../pipelines/registry.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/** uPlot's files, wherever npm put the package (inside neurorx or hoisted beside it). */
function uplotFile(name: string): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist', name);
}

/**
 * The pages and scripts the server hands out: the dashboard at /, the example game at /game, the
 * stimulus pages at /p300 and /ssvep (examples/stimulus), the
 * browser code compiled by tsconfig.browser.json (the dashboard's and the game's modules and the
 * client library they import) under /js/ as in dist/browser, the client library also at
 * /client/neurorx-client.js, uPlot under /vendor/, and the protocol's JSON Schemas at
 * /schema.json. Fixed routes only: no path from the request reaches the disk (the /js/ routes are
 * the .js files found in dist/browser on first use).
 */
const ROUTES: Record<string, () => string> = {
  '/': () => projectPath('src', 'server', 'dashboard', 'index.html'),
  '/index.html': () => projectPath('src', 'server', 'dashboard', 'index.html'),
  '/dashboard.css': () => projectPath('src', 'server', 'dashboard', 'dashboard.css'),
  '/game': () => projectPath('examples', 'game', 'index.html'),
  '/game/': () => projectPath('examples', 'game', 'index.html'),
  '/p300': () => projectPath('examples', 'stimulus', 'p300.html'),
  '/ssvep': () => projectPath('examples', 'stimulus', 'ssvep.html'),
  '/stimulus.css': () => projectPath('examples', 'stimulus', 'style.css'),
  '/client/neurorx-client.js': () => projectPath('dist', 'browser', 'src', 'client', 'neurorx-client.js'),
  '/vendor/uplot.js': () => uplotFile('uPlot.iife.min.js'),
  '/vendor/uplot.css': () => uplotFile('uPlot.min.css'),
};

const BROWSER_PREFIX = '/js/';
let browserModules: Map<string, string> | undefined;

/** URL -> file for every compiled browser module (dist/browser, every folder); empty before a build. */
function browserRoutes(): Map<string, string> {
  if (browserModules) return browserModules;
  const routes = new Map<string, string>();
  const walk = (dir: string, url: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name), `${url}${entry.name}/`);
      else if (entry.isFile() && entry.name.endsWith('.js')) routes.set(url + entry.name, path.join(dir, entry.name));
    }
  };
  try {
    walk(projectPath('dist', 'browser'), BROWSER_PREFIX);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Kept once found: a server started before the build looks again on the next request.
  if (routes.size > 0) browserModules = routes;
  return routes;
}

function fileFor(url: string): string | undefined {
  if (Object.hasOwn(ROUTES, url)) return ROUTES[url]();
  return url.startsWith(BROWSER_PREFIX) ? browserRoutes().get(url) : undefined;
}

/** The pages a server with many sessions serves at its own paths: a session's dashboard, the overview of all sessions. */
export const PAGES = {
  dashboard: () => projectPath('src', 'server', 'dashboard', 'index.html'),
  overview: () => projectPath('src', 'server', 'dashboard', 'overview.html'),
} as const;

/** Serves one of PAGES (GET or HEAD). */
export async function servePage(req: http.IncomingMessage, res: http.ServerResponse, page: keyof typeof PAGES): Promise<void> {
  await serveFile(req, res, PAGES[page]());
}

export async function serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = (req.url ?? '/').split('?')[0];
  if (url === '/schema.json' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': TYPES['.json'] }).end(JSON.stringify(messageJsonSchemas(pipelineRegistry), null, 2));
    return;
  }
  await serveFile(req, res, fileFor(url), url.startsWith(BROWSER_PREFIX) ? 'not found (run npm run build?)\n' : 'not found\n');
}

async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, file: string | undefined, notFound = 'not found\n'): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (file) {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(notFound);
    }
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    res.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain' }).end(missing ? 'not found (run npm run build?)\n' : `server error: ${(e as Error).message}\n`);
  }
}
