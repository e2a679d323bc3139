import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { checkSessionId } from '../bus/subjects.js';
import { CONFIG_LIMITS, ConfigError, configFromJson } from '../config/config-schema.js';
import { originAllowed, requestToken, tokenMatches } from '../server/access.js';
import type { HttpRoute } from '../server/multi-session-server.js';
import { JsonLimitError, parseBoundedJson } from '../util/bounded-json.js';
import type { HostSessions } from './host-sessions.js';

export interface HostApiOptions {
  /** Required on every API request (Bearer header or ?token=) when set; the server requires one off loopback. */
  token?: string;
  /** Browser origins allowed to create and stop sessions besides the server's own ("*": any). */
  allowedOrigins: readonly string[];
  /** Largest request body accepted, bytes (default 256 KiB); beyond it 413. */
  maxBodyBytes?: number;
  /** Where the relative plug-in paths of a posted config are resolved (default: the working directory). */
  pluginBaseDir?: string;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

const PREFIX = '/api/sessions';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The host's HTTP API, as a route of a MultiSessionServer:
 *   GET    /api/sessions        200, the sessions (HostedSessionInfo[])
 *   POST   /api/sessions        {"id"?: string, "config": {...}}: 201 {id, url}; 400 {error} naming
 *                               the field; 409 id taken; 413 body too large; 415 not JSON
 *   GET    /api/sessions/<id>   200 HostedSessionInfo; 404
 *   DELETE /api/sessions/<id>   204; 404
 * Errors are JSON `{error}`. With a token every request needs it (401); POST and DELETE from a
 * browser page of another origin are refused (403: no cross-site request forgery).
 */
export function hostApi(directory: HostSessions, options: HostApiOptions): HttpRoute {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const baseDir = options.pluginBaseDir ?? process.cwd();
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== PREFIX && !path.startsWith(`${PREFIX}/`) && path !== '/api' && !path.startsWith('/api/')) return false;
    handle(req, path).then(
      ({ status, body }) => reply(res, status, body),
      (e: unknown) => reply(res, e instanceof HttpError ? e.status : 500, { error: (e as Error).message }),
    );
    return true;
  };

  async function handle(req: http.IncomingMessage, path: string): Promise<{ status: number; body?: unknown }> {
    if (options.token !== undefined && !tokenMatches(options.token, requestToken(req))) throw new HttpError(401, 'a valid token is required');
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && !originAllowed(req, options.allowedOrigins)) {
      throw new HttpError(403, `origin ${JSON.stringify(req.headers.origin ?? '').slice(0, 200)} may not change sessions (server.allowedOrigins)`);
    }
    if (path === PREFIX) {
      if (method === 'GET' || method === 'HEAD') return { status: 200, body: directory.list() };
      if (method === 'POST') return create(req);
      throw new HttpError(405, `${method} ${PREFIX}: use GET or POST`);
    }
    const id = path.startsWith(`${PREFIX}/`) ? decode(path.slice(PREFIX.length + 1)) : undefined;
    if (id === undefined || id === '' || id.includes('/')) throw new HttpError(404, `no such API: ${path.slice(0, 200)}`);
    if (method === 'GET' || method === 'HEAD') {
      const info = directory.get(id);
      if (!info) throw new HttpError(404, `no session "${id.slice(0, 64)}"`);
      return { status: 200, body: info };
    }
    if (method === 'DELETE') {
      if (!(await directory.stop(id))) throw new HttpError(404, `no session "${id.slice(0, 64)}"`);
      return { status: 204 };
    }
    throw new HttpError(405, `${method} ${PREFIX}/<id>: use GET or DELETE`);
  }

  async function create(req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      throw new HttpError(415, `send the session as JSON (content-type: application/json), not ${JSON.stringify(type || 'nothing')}`);
    }
    const text = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = parseBoundedJson(text, { maxLength: maxBody, maxDepth: CONFIG_LIMITS.maxDepth });
    } catch (e) {
      throw new HttpError(400, `${e instanceof JsonLimitError ? 'request refused' : 'not valid JSON'}: ${(e as Error).message}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be an object: {"id"?: string, "config": {...}}');
    const { id: givenId, config: json, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new HttpError(400, `unknown field "${extra.slice(0, 64)}": send {"id"?: string, "config": {...}}`);
    if (givenId !== undefined && typeof givenId !== 'string') throw new HttpError(400, 'id: a string');
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HttpError(400, 'config: required, a config object as in a config file');
    if (givenId !== undefined) {
      try {
        checkSessionId(givenId, 'id');
      } catch (e) {
        throw new HttpError(400, (e as Error).message);
      }
    }
    let config;
    try {
      config = await configFromJson(json, baseDir, 'config');
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    const id = givenId ?? sessionIdFor(config.name, (candidate) => directory.get(candidate) !== undefined);
    if (directory.get(id)) throw new HttpError(409, `session "${id}" exists: stop it first or choose another id`);
    try {
      await directory.create(id, config, { baseDir });
    } catch (e) {
      if (directory.get(id) && givenId !== undefined) throw new HttpError(409, `session "${id}" exists: stop it first or choose another id`);
      throw new HttpError(e instanceof ConfigError ? 400 : 500, `session "${id}" could not start: ${(e as Error).message}`);
    }
    return { status: 201, body: { id, url: `/sessions/${id}` } };
  }
}

/** A fresh id from a config's name: its letters and digits, and a short random suffix. */
export function sessionIdFor(name: string, taken: (id: string) => boolean = () => false): string {
  const stem =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'session';
  for (;;) {
    const id = `${stem}-${randomBytes(3).toString('hex')}`;
    if (!taken(id)) return id;
  }
}

function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The body as text, refused (413) beyond `max` bytes, by its announced length or as it arrives. */
function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): HttpError => new HttpError(413, `the body is larger than the ${max} bytes accepted`);
    if (Number(req.headers['content-length'] ?? 0) > max) {
      req.resume();
      return reject(tooLarge());
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) {
        parts.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
      } else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: http.ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(JSON.stringify(body));
}
