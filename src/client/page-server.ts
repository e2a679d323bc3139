/**
 * Where a page served by neurorx (the dashboard, the game) finds its session: the WebSocket on the
 * page's own host, and the access token when the page's address carries one (`?token=`).
 * Browser-only in use, but it touches no browser global itself: the caller passes `location`.
 */
export interface PageServer {
  url: string;
  token?: string;
}

export function pageServer(location: { protocol: string; host: string; search: string }): PageServer {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const token = new URLSearchParams(location.search).get('token');
  return { url: `${scheme}://${location.host}/`, ...(token ? { token } : {}) };
}
