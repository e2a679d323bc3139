import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config-schema.js';
import { startHostServer, type HostServer } from '../src/host/host-server.js';
import { InProcessSessions } from '../src/host/in-process-sessions.js';
import { PROJECT_ROOT } from './helpers/data.js';

/** The overview page and a session's dashboard of a server with many sessions, in headless chromium (as test/browser.test.ts). */
const CHROMIUM = process.env.NEURORX_CHROMIUM ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !CI) console.warn(`skipping the multi-session browser test: ${CHROMIUM} is missing (apt-get install chromium)`);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!haveChromium && !CI)('a host’s pages in chromium', () => {
  let host: HostServer | undefined;
  let context: BrowserContext | undefined;
  let profileDir: string | undefined;
  beforeAll(async () => {
    host = await startHostServer(new InProcessSessions(), { port: 0 });
    for (const [id, seed] of [
      ['alpha', 3],
      ['beta', 4],
    ] as const) {
      const config = await loadConfig(path.join(PROJECT_ROOT, 'config', 'default.json'));
      config.name = `${id} demo`;
      config.source.uri = `synthetic:motor-imagery?seed=${seed}`;
      config.source.replay = { speed: 2, chunkSize: 16, loop: false };
      await host.sessions.create(id, config);
    }
    if (!haveChromium) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'neurorx-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 }, timeout: 120_000 });
  }, 180_000);
  afterAll(async () => {
    // The browser first: its idle preconnections would hold the server's close.
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await host?.close();
  });

  it('the overview lists both sessions, each linking to its dashboard, which shows that session’s decisions', async () => {
    const base = `http://127.0.0.1:${host!.server.address.port}`;
    const errors: string[] = [];
    const overview = await context!.newPage();
    overview.on('pageerror', (e) => errors.push(e.message));
    await overview.goto(`${base}/`);
    await overview.waitForFunction(`document.querySelectorAll('#sessions tr').length === 2`, undefined, { timeout: 30_000, polling: 100 });
    expect(await overview.locator('#sessions tr td:first-child').allTextContents()).toEqual(['alpha', 'beta']);
    expect(await overview.locator('#sessions tr[data-id="beta"] td').nth(1).textContent()).toBe('beta demo');
    const href = await overview.locator('#sessions tr[data-id="beta"] a').getAttribute('href');
    expect(href).toBe('/sessions/beta/');

    const dash = await context!.newPage();
    dash.on('pageerror', (e) => errors.push(e.message));
    const sockets: string[] = [];
    dash.on('websocket', (ws) => sockets.push(ws.url()));
    await dash.goto(`${base}${href}`);
    await dash.waitForFunction(`window.__neurorx && window.__neurorx.messages.decision >= 3`, undefined, { timeout: 60_000, polling: 100 });
    expect(sockets).toEqual([`ws://127.0.0.1:${host!.server.address.port}/sessions/beta`]);
    expect(await dash.locator('#history li').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 120_000);
});
