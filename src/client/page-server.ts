/**
 * Where a page served by neurorx (the dashboard, the game) finds its session: the WebSocket on the
 * page's own host (at `/sessions/<id>` when the page is served under that path by a server with
 * many sessions, at `/` otherwise), and the access token when the page's address carries one
 * (`?token=`). Browser-only in use, but it touches no browser global itself: the caller passes
 * `location`.
 */
export interface PageServer {
  url: string;
  token?: string;
}

const SESSION_PATH = /^\/sessions\/([A-Za-z0-9_-]{1,64})(\/|$)/;

export function pageServer(location: { protocol: string; host: string; search: string; pathname?: string }): PageServer {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const token = new URLSearchParams(location.search).get('token');
  const session = SESSION_PATH.exec(location.pathname ?? '/')?.[1];
  return { url: `${scheme}://${location.host}/${session ? `sessions/${session}` : ''}`, ...(token ? { token } : {}) };
}
