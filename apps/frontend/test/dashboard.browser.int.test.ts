// The admin page in a real browser (Debian's Chromium, driven by playwright-core) against the
// real service: `npm start`'s entry point in a child process with a fresh DATA_DIR (PGlite,
// the embedded qbo-sandbox and its demo company), serving this page freshly built. Nothing is
// mocked. One browser, one service, steps in order — each step starts where the last ended,
// as a person's session would. Screenshots of each state go to test-artifacts/ (git-ignored).
//
// Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it when missing).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedEnv,
  localSecrets,
  startEmbedded,
  stopEmbedded,
  type EmbeddedProcess,
} from '../../api/test/embedded-process.ts';

const FRONTEND = fileURLToPath(new URL('../', import.meta.url));
const ARTIFACTS = path.join(FRONTEND, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';

describe('admin page in Chromium, against the real service and qbo-sandbox', () => {
  let dataDir: string | undefined;
  let uiDir: string;
  let svc: EmbeddedProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let controlToken: string;
  let realmId: string;
  /** Console errors and CSP violations: there must be none. */
  const problems: string[] = [];

  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  };
  const control = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${svc.sandboxUrl}/_sandbox${route}`, {
      method,
      headers: {
        authorization: `Bearer ${controlToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`sandbox ${method} ${route}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  const card = () => page.getByTestId('quickbooks-card');

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-sync-browser-'));
    // This checkout's page, built the way `npm install` builds it, into a folder of its own
    // (other test files may be reading apps/frontend/dist meanwhile).
    uiDir = path.join(dataDir, 'admin-ui');
    await build({
      root: FRONTEND,
      configFile: path.join(FRONTEND, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
      build: { outDir: uiDir, emptyOutDir: true },
    });
    svc = await startEmbedded({ ...(await embeddedEnv(dataDir)), ADMIN_UI_DIR: uiDir });
    controlToken = localSecrets(dataDir).sandboxControlToken;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.baseUrl });
    page = await context.newPage();
    page.on('console', (m) => {
      // The API's 4xx answers that steps provoke on purpose (401 signed out, 409 re-auth)
      // are logged by Chromium as failed loads; anything else is a problem.
      // The sandbox's consent page is not ours to judge.
      const url = m.location().url;
      if (url.startsWith(svc.sandboxUrl)) return;
      if (m.type() === 'error' && !/^Failed to load resource: .* (401|409)/.test(m.text())) {
        problems.push(`console: ${m.text()} (${url})`);
      }
    });
    page.on('response', (r) => {
      if (r.status() === 404) problems.push(`404: ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (svc) await stopEmbedded(svc);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the start-up banner’s sign-in link signs the browser in, and the token leaves the address bar', async () => {
    const link = /sign in\s+(http:\/\/localhost:\d+\/admin\/login#token=[0-9a-f]+)/.exec(
      svc.output(),
    )?.[1];
    expect(link).toBeDefined();
    await page.goto(link!);
    await page.waitForURL(`${svc.baseUrl}/admin`);
    await expect.poll(() => card().getAttribute('data-state')).toBe('disconnected');
    expect(page.url()).not.toContain('token');
    // The session is an HttpOnly cookie; nothing is kept in the page's storage.
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'qbo_admin_session')).toMatchObject({ httpOnly: true });
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    await page.getByRole('button', { name: 'Connect QuickBooks' }).waitFor();
    await shot('01-disconnected');
  });

  it('cancelling on the consent page comes back with a readable reason and a way to try again', async () => {
    await page.getByRole('button', { name: 'Connect QuickBooks' }).click();
    await page.waitForURL(`${svc.sandboxUrl}/**`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${svc.baseUrl}/admin`);
    const notice = page.getByTestId('callback-notice');
    await expect
      .poll(() => notice.textContent())
      .toContain('You cancelled on the QuickBooks consent page');
    expect(page.url()).toBe(`${svc.baseUrl}/admin`);
    await shot('02-consent-cancelled');
  });

  it('connecting through the sandbox’s consent page comes back connected, with the company’s health', async () => {
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL(`${svc.sandboxUrl}/**`);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.waitForURL(`${svc.baseUrl}/admin`);
    await expect.poll(() => card().getAttribute('data-state')).toBe('connected');
    expect(await page.getByTestId('callback-notice').textContent()).toContain(
      'Connected to Demo Company',
    );
    const health = page.getByTestId('connection-health');
    expect(await health.textContent()).toContain('Demo Company');
    realmId = (await health.locator('dt:text("Realm ID") + dd').textContent())!.trim();
    expect(realmId).toMatch(/^\d+$/);
    await shot('03-connected');
  });

  it('Test connection shows the latency, and each panel opens with real data', async () => {
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(() => page.getByTestId('test-result').textContent())
      .toMatch(/answered in \d+ ms/);

    await page.getByRole('button', { name: 'API health' }).click();
    await page.locator('[data-testid="api-health"] .recharts-surface').first().waitFor();
    expect(await page.getByTestId('api-health').textContent()).toMatch(/calls, 24 h/);

    await page.getByRole('button', { name: 'Request log' }).click();
    const rows = page.locator('[data-testid="request-log"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBeGreaterThanOrEqual(3); // code exchange, CompanyInfo, the test
    const copy = page.getByRole('button', { name: /^Copy intuit_tid/ }).first();
    const tid = (await copy.locator('code').textContent())!;
    await copy.click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(tid);
    await shot('04-panels-open');
  });

  /** The Sync panel's mirror count of one entity, as the page shows it. */
  const mirrorCount = async (entity: string) => {
    const cell = page.locator(`[data-testid="sync-status"] tr[data-entity="${entity}"] td`).first();
    if ((await cell.count()) === 0) return null;
    return Number(
      (await cell.evaluate((td) => td.firstChild?.textContent ?? '')).replace(/,/g, ''),
    );
  };
  const sandboxCounts = async () =>
    ((await control('GET', `/companies/${realmId}`)) as { counts: Record<string, number> }).counts;

  it('Full sync all fills every entity’s mirror count up to what the sandbox company holds', async () => {
    const sync = page.getByTestId('sync-status');
    await sync.getByRole('button', { name: 'Full sync all' }).click();
    await sync.getByRole('button', { name: 'Start full sync' }).click();
    await expect
      .poll(() => sync.getByTestId('sync-run').textContent(), { timeout: 60_000 })
      .toMatch(
        /^Last run: full sync of Customer, Invoice, Payment, Vendor, Item, Account — success/,
      );
    const qbo = await sandboxCounts();
    for (const entity of ['Customer', 'Invoice', 'Payment', 'Vendor', 'Item']) {
      await expect.poll(() => mirrorCount(entity), { message: entity }).toBe(qbo[entity]);
    }
    expect(qbo.Invoice).toBeGreaterThan(0);
    await shot('04b-full-sync-done');
  });

  it('Force sync of one entity runs a full sync of it alone, and its row ends synced', async () => {
    const sync = page.getByTestId('sync-status');
    const row = sync.locator('tr[data-entity="Item"]');
    const lastFullSync = () => row.locator('td').nth(3).locator('time').getAttribute('datetime');
    const before = Date.parse((await lastFullSync())!);
    await row.getByRole('button', { name: 'Force sync Item' }).click();
    await sync.getByRole('button', { name: 'Start full sync of Item' }).click();
    await expect
      .poll(() => sync.getByTestId('sync-run').textContent(), { timeout: 30_000 })
      .toMatch(/^Last run: full sync of Item — success/);
    await expect.poll(() => row.locator('td').nth(6).textContent()).toBe('synced');
    expect(Date.parse((await lastFullSync())!)).toBeGreaterThan(before);
    expect(await row.getByRole('button', { name: 'Force sync Item' }).isEnabled()).toBe(true);
    expect(await mirrorCount('Item')).toBe((await sandboxCounts()).Item);
  });

  it('at phone width (390 px) the connected page does not scroll sideways: wide tables scroll inside their panel', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const name of ['API health', 'Request log']) {
      const toggle = page.getByRole('button', { name, exact: true });
      if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    }
    await page.locator('[data-testid="request-log"] tbody tr').first().waitFor();
    const overflow = await page.evaluate(() => {
      const wide = [...document.querySelectorAll<HTMLElement>('body *')]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter((el) => !el.closest('.table-wrap'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
      return {
        scrollWidth: document.scrollingElement!.scrollWidth,
        innerWidth: window.innerWidth,
        wide: wide.slice(0, 5),
      };
    });
    expect(overflow.wide).toEqual([]);
    expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.innerWidth);
    await shot('05-phone');
    // A row's Force sync sits at the table's far end; its confirmation stays on screen.
    const sync = page.getByTestId('sync-status');
    await sync.getByRole('button', { name: 'Force sync Customer' }).click();
    const dialog = sync.getByRole('alertdialog');
    const box = (await dialog.boundingBox())!;
    expect([box.x >= 0, box.x + box.width <= 390]).toEqual([true, true]);
    await dialog.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, '05b-phone-force-sync.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('a customer added in QuickBooks arrives by webhook: the monitor shows it applied, the mirror counts it', async () => {
    const before = (await mirrorCount('Customer'))!;
    await control('POST', `/companies/${realmId}/entities/Customer`, {
      operation: 'create',
      body: { DisplayName: 'Webhook Browser Ltd' },
    });
    await control('POST', '/webhooks/flush');
    const monitor = page.getByTestId('webhook-monitor');
    await page.getByRole('button', { name: 'Webhook monitor' }).click();
    const applied = monitor.locator('tbody tr[data-status="processed"]', { hasText: 'Customer' });
    await expect
      .poll(
        async () => {
          if ((await applied.count()) === 0) {
            await monitor.getByRole('button', { name: 'Refresh' }).click();
            return 0;
          }
          return applied.count();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    const row = (await applied.first().locator('td').allTextContents()).slice(1, 6);
    expect(row).toEqual([realmId, 'Customer', 'Create', 'valid', 'applied1 object']);
    await shot('04c-webhook-applied');
    // The Sync panel reads the mirror again on its next poll or a reload: one more customer.
    await page.reload();
    await expect.poll(() => mirrorCount('Customer')).toBe(before + 1);
  });

  it('Push sends one campaign invoice to QuickBooks and the row shows its QuickBooks status', async () => {
    const row = page.locator('[data-testid="campaign-invoices"] tr', {
      hasText: 'Northwind Traders',
    });
    expect(await row.getByTestId('qbo-status').textContent()).toBe('pending');
    await row.getByRole('button', { name: 'Push the invoice for Northwind Traders' }).click();
    await expect.poll(() => row.textContent()).toMatch(/Created in QuickBooks as #\S+\./);
    await expect.poll(() => row.getByTestId('qbo-status').textContent()).toMatch(/^synced#/);
    expect(await row.textContent()).toContain('unpaid');
    await shot('04d-invoice-pushed');
  });

  it('every panel opens, the webhook monitor among them', async () => {
    for (const name of ['API health', 'Webhook monitor', 'Request log']) {
      const toggle = page.getByRole('button', { name, exact: true });
      if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    }
    for (const id of [
      'connection-health',
      'sync-status',
      'api-health',
      'webhook-monitor',
      'writeback',
      'request-log',
    ]) {
      await page.getByTestId(id).locator('.panel-body').waitFor();
    }
    await page.locator('[data-testid="webhook-monitor"] tbody tr').first().waitFor();
    await shot('04e-every-panel-open');
    // The overview the README shows: every panel but the long request log.
    await page.getByRole('button', { name: 'Request log', exact: true }).click();
    await shot('04f-overview');
  });

  it('when the sandbox throttles, the throttle alert appears and leads to the throttled calls', async () => {
    await control('POST', '/faults', {
      kind: 'throttle',
      surface: 'accounting',
      count: 2,
      realmId,
    });
    await page.getByRole('button', { name: 'Test connection' }).click();
    const alert = page.locator('[data-alert="throttle_rate_high"]');
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toMatch(/QuickBooks throttled .* of the calls in 24 h/);
    await alert.getByRole('button', { name: 'Show throttled calls' }).click();
    const statuses = page.locator('[data-testid="request-log"] tbody tr td:nth-child(5) .badge');
    await expect.poll(async () => (await statuses.allTextContents()).join(',')).toBe('429,429');
    await shot('06-alert-throttled');
  });

  it('when the sandbox revokes the grant, a refresh raises the re-auth alert, and Reconnect clears it', async () => {
    await control('POST', '/tokens/revoke', { realmId });
    await page.getByRole('button', { name: 'Refresh token' }).click();
    const alert = page.locator('[data-alert="needs_reauth"]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('QuickBooks no longer accepts this connection');
    await expect.poll(() => card().getAttribute('data-state')).toBe('needs_reauth');
    await shot('07-alert-needs-reauth');

    await alert.getByRole('button', { name: 'Reconnect QuickBooks' }).click();
    await page.waitForURL(`${svc.sandboxUrl}/**`);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.waitForURL(`${svc.baseUrl}/admin`);
    await expect.poll(() => card().getAttribute('data-state')).toBe('connected');
    expect(await page.locator('[data-alert="needs_reauth"]').count()).toBe(0);
  });

  // After the throttle step: its two 429s must stay above 5 % of the day's calls, and a
  // reconciliation reads every page again.
  it('Reconcile asks first, then proves every entity in sync: QuickBooks’ count beside the mirror’s', async () => {
    const sync = page.getByTestId('sync-status');
    await sync.getByRole('button', { name: 'Reconcile', exact: true }).click();
    await sync.getByRole('button', { name: 'Start reconciliation' }).click();
    await expect
      .poll(() => sync.getByTestId('sync-run').textContent(), { timeout: 60_000 })
      .toMatch(
        /^Last run: reconciliation of Customer, Invoice, Payment, Vendor, Item, Account — success/,
      );
    const qbo = await sandboxCounts();
    for (const entity of ['Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account']) {
      const row = sync.locator(`tr[data-entity="${entity}"]`);
      await expect
        .poll(() => row.locator('td').nth(2).textContent(), { message: entity })
        .toMatch(/^in sync, proved at /);
      expect(Number((await row.locator('td').nth(1).textContent())!.replace(/,/g, ''))).toBe(
        qbo[entity],
      );
    }
  });

  it('Disconnect asks first, then the page offers to connect again', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    const dialog = page.getByRole('alertdialog');
    expect(await dialog.textContent()).toContain(
      'The mirrored records and the request log are kept',
    );
    await shot('08-disconnect-confirm');
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => card().getAttribute('data-state')).toBe('disconnected');
    expect(await page.getByTestId('connect-panel').textContent()).toContain(
      'Demo Company was disconnected',
    );
    await shot('09-disconnected-again');
  });

  it('signing out shows the sign-in form, and pasting the token signs in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toContain('not this service’s admin token');
    await shot('10-sign-in-refused');
    await page.getByLabel('Admin token').fill(localSecrets(dataDir!).adminApiToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => card().getAttribute('data-state')).toBe('disconnected');
  });

  it('the API reference renders the OpenAPI document the service serves', async () => {
    const doc = (await (await fetch(`${svc.baseUrl}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/quickbooks/status');
    await page.goto(`${svc.baseUrl}/api/docs`);
    await page.locator('.swagger-ui .opblock').first().waitFor();
    expect(await page.locator('.swagger-ui .opblock').count()).toBe(
      Object.values(doc.paths).reduce<number>((n, ops) => n + Object.keys(ops as object).length, 0),
    );
    await shot('11-api-reference');
  });

  it('no step logged a console error or a CSP violation', () => {
    expect(problems).toEqual([]);
  });
});
