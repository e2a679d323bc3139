// The overview of a host's sessions (served at / by a server with many sessions): the session list
// from /api/sessions once a second, each id linking to its dashboard, and a form to stop one.
import { byId, el, fmt } from './dom.js';

/** One row of GET /api/sessions (HostedSessionInfo; the page cannot import the server's types). */
interface SessionRow {
  id: string;
  name: string;
  kind: string;
  state: string;
  clients: number;
  decisionsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  cpu: number;
  restarts: number;
  lastError?: string;
}

const token = new URLSearchParams(location.search).get('token');
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
const withToken = (path: string): string => (token ? `${path}?token=${encodeURIComponent(token)}` : path);

const body = byId<HTMLTableSectionElement>('sessions');
const select = byId<HTMLSelectElement>('stop-id');
const conn = byId('conn');
const result = byId('stop-result');

function render(rows: readonly SessionRow[]): void {
  body.replaceChildren(
    ...rows.map((s) => {
      const tr = el('tr');
      tr.dataset.id = s.id;
      const link = el('a', '', s.id);
      link.href = withToken(`/sessions/${encodeURIComponent(s.id)}/`);
      const idCell = el('td');
      idCell.append(link);
      const num = (text: string): HTMLTableCellElement => el('td', 'num', text);
      tr.append(
        idCell,
        el('td', '', s.name),
        el('td', '', s.kind),
        el('td', '', s.state),
        num(String(s.clients)),
        num(String(s.decisionsPerSecond)),
        num(`${fmt(s.latencyMs.p50, 2)} / ${fmt(s.latencyMs.p99, 2)}`),
        num(`${fmt(s.cpu * 100, 0)} %`),
        num(String(s.restarts)),
        el('td', 'error', s.lastError ?? ''),
      );
      return tr;
    }),
  );
  byId('empty').hidden = rows.length > 0;
  // Keep the choice while the list refreshes.
  const chosen = select.value;
  select.replaceChildren(...rows.map((s) => Object.assign(el('option', '', s.id), { value: s.id })));
  if (rows.some((s) => s.id === chosen)) select.value = chosen;
}

async function refresh(): Promise<void> {
  try {
    const res = await fetch('/api/sessions', { headers, cache: 'no-store' });
    if (!res.ok) throw new Error(`${res.status} ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.statusText}`);
    render((await res.json()) as SessionRow[]);
    conn.textContent = 'online';
    conn.classList.add('online');
  } catch (e) {
    conn.textContent = `offline: ${(e as Error).message}`;
    conn.classList.remove('online');
  }
}

byId<HTMLFormElement>('stop-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = select.value;
  if (!id) return;
  void fetch(`/api/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', headers }).then(
    async (res) => {
      result.textContent = res.status === 204 ? `stopped ${id}` : `could not stop ${id}: ${((await res.json().catch(() => ({}))) as { error?: string }).error ?? res.status}`;
      await refresh();
    },
    (e: Error) => (result.textContent = `could not stop ${id}: ${e.message}`),
  );
});

void refresh();
setInterval(() => void refresh(), 1000);
