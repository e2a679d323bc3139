import { readFile } from 'node:fs/promises';
import type http from 'node:http';
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

/**
 * The pages and scripts the server hands out: the dashboard at /, the example game at /game, the
 * browser client library (compiled) under /client/, uPlot under /vendor/, and the protocol's
 * JSON Schemas at /schema.json. Fixed routes only: no path from the request reaches the disk.
 */
const ROUTES: Record<string, () => string> = {
  '/': () => projectPath('src', 'server', 'dashboard', 'index.html'),
  '/index.html': () => projectPath('src', 'server', 'dashboard', 'index.html'),
  '/dashboard.js': () => projectPath('src', 'server', 'dashboard', 'dashboard.js'),
  '/dashboard.css': () => projectPath('src', 'server', 'dashboard', 'dashboard.css'),
  '/game': () => projectPath('examples', 'game', 'index.html'),
  '/game/': () => projectPath('examples', 'game', 'index.html'),
  '/game/game.js': () => projectPath('examples', 'game', 'game.js'),
  '/client/neurorx-client.js': () => projectPath('dist', 'src', 'client', 'neurorx-client.js'),
  '/vendor/uplot.js': () => path.join(projectPath('node_modules', 'uplot', 'dist'), 'uPlot.iife.min.js'),
  '/vendor/uplot.css': () => path.join(projectPath('node_modules', 'uplot', 'dist'), 'uPlot.min.css'),
};

export async function serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = (req.url ?? '/').split('?')[0];
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/schema.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'] }).end(JSON.stringify(messageJsonSchemas(pipelineRegistry), null, 2));
    } else if (ROUTES[url]) {
      const file = ROUTES[url]();
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    res.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain' }).end(missing ? 'not found (run npm run build?)\n' : `server error: ${(e as Error).message}\n`);
  }
}
