#!/usr/bin/env node
// The Folio portal, clicked through in Chromium the way a person would use it.
//
// Environment:
//   FOLIO_BASE_URL         where the bff serves the portal, e.g. http://127.0.0.1:8080
//   FOLIO_ADMIN_EMAIL      an enabled admin of an organisation
//   FOLIO_ADMIN_PASSWORD   that admin's password
//   FOLIO_ARTIFACTS_DIR    where screenshots, the browser log and a Playwright
//                          trace go (default: <tmp>/folio-journey)
//   FOLIO_CHROMIUM         the Chromium binary (default: /usr/bin/chromium)
//   FOLIO_STEP_TIMEOUT_MS  how long one action may wait (default: 15000)
//
// Every step saves a screenshot. The run stops at the first failing step,
// prints why, and exits 1; the last line is always "N passed, M failed".

import { chromium } from 'playwright-core';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ---- configuration ------------------------------------------------------------

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`journey: environment variable ${name} is not set (see the top of journey.mjs).`);
    process.exit(2);
  }
  return value;
}

const BASE_URL = required('FOLIO_BASE_URL').replace(/\/+$/, '');
const ADMIN_EMAIL = required('FOLIO_ADMIN_EMAIL');
const ADMIN_PASSWORD = required('FOLIO_ADMIN_PASSWORD');
const ARTIFACTS = path.resolve(process.env.FOLIO_ARTIFACTS_DIR || path.join(os.tmpdir(), 'folio-journey'));
const CHROMIUM = process.env.FOLIO_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.FOLIO_STEP_TIMEOUT_MS || 15000);

if (!existsSync(CHROMIUM)) {
  console.error(`journey: no Chromium at ${CHROMIUM}. Install it (apt-get install -y chromium) or set FOLIO_CHROMIUM.`);
  process.exit(2);
}

// ---- test data ------------------------------------------------------------------

const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const DOC_TITLE = `Journey ${RUN} contract`;
// A name with a space and non-ASCII letters exercises Content-Disposition.
const FILE_NAME = `journey ${RUN} résumé.txt`;
const V1 = Buffer.from(`Folio journey ${RUN}: version one.\nÄ line with ünïcödé.\n${'0123456789'.repeat(50)}\n`, 'utf8');
const V2 = Buffer.from(`Folio journey ${RUN}: version two, longer.\n${'abcdefghij'.repeat(120)}\n`, 'utf8');
const TASK_TITLE = `Review ${RUN}`;
const VIEWER_EMAIL = `viewer-${RUN}@example.com`;
const VIEWER_NAME = `Viewer ${RUN}`;
const VIEWER_PASSWORD = `pw-${RUN}-${'x'.repeat(12)}`;

// ---- harness ------------------------------------------------------------------------

const steps = [];
const step = (name, run) => steps.push({ name, run });

class StepFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new StepFailure(message);
}

const browserLog = [];
const pageErrors = [];

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  console.log(`journey: ${BASE_URL} as ${ADMIN_EMAIL}; artifacts in ${ARTIFACTS}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  await context.tracing.start({ screenshots: true, snapshots: true });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.setDefaultNavigationTimeout(Math.max(TIMEOUT, 30000));

  page.on('console', (msg) => {
    const line = `[${msg.type()}] ${msg.text()}`;
    browserLog.push(line);
    // A CSP violation means the portal broke its own rules (inline script/style).
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(`CSP violation: ${msg.text()}`);
  });
  page.on('pageerror', (err) => {
    browserLog.push(`[pageerror] ${err.message}`);
    pageErrors.push(`uncaught error in the page: ${err.message}`);
  });
  page.on('requestfailed', (req) => browserLog.push(`[requestfailed] ${req.method()} ${req.url()} ${req.failure()?.errorText}`));

  const state = { page };
  let passed = 0;
  let failed = 0;
  let index = 0;
  for (const { name, run } of steps) {
    index += 1;
    const shot = path.join(ARTIFACTS, `${String(index).padStart(2, '0')}-${slug(name)}.png`);
    const started = Date.now();
    try {
      await run(state);
      if (pageErrors.length) throw new StepFailure(pageErrors.join('; '));
      await screenshot(page, shot);
      passed += 1;
      console.log(`  ok   ${String(index).padStart(2)} ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed += 1;
      const failShot = shot.replace(/\.png$/, '-FAILED.png');
      await screenshot(page, failShot).catch(() => {});
      const message = err instanceof StepFailure
        ? err.message
        : String(err?.message || err)
            .replace(/\x1b\[[0-9;]*m/g, '')
            .split('\n')
            .filter((line) => line.trim())
            .slice(0, 6)
            .join('\n       ');
      console.error(`  FAIL ${String(index).padStart(2)} ${name}: ${message}`);
      console.error(`       screenshot: ${failShot}`);
      const visibleError = await page
        .locator('[data-testid="error-message"], [role="alert"] .inline-message, .inline-message--error')
        .first()
        .textContent({ timeout: 500 })
        .catch(() => null);
      if (visibleError) console.error(`       the page shows: ${visibleError.trim()}`);
      break;
    }
  }

  await context.tracing.stop({ path: path.join(ARTIFACTS, 'trace.zip') }).catch(() => {});
  await writeFile(path.join(ARTIFACTS, 'browser.log'), browserLog.join('\n') + '\n');
  await browser.close();

  const notRun = steps.length - passed - failed;
  console.log(`${passed} passed, ${failed} failed${notRun ? `, ${notRun} not run` : ''}`);
  process.exit(failed ? 1 : 0);
}

// ---- helpers used by steps ---------------------------------------------------------

const byTestId = (page, id) => page.getByTestId(id);

/** A full-page screenshot from the top (so the sticky header sits where it belongs). */
async function screenshot(page, file) {
  await page.evaluate(() => window.scrollTo(0, 0)).catch(() => {});
  await page.screenshot({ path: file, fullPage: true });
}

async function gotoSection(page, navTestId, viewTestId) {
  await byTestId(page, navTestId).click();
  await byTestId(page, viewTestId).waitFor();
}

function taskItem(page, title) {
  return page.getByTestId('task-item').filter({ has: page.getByTestId('task-title').getByText(title, { exact: true }) });
}

// ---- the journey ------------------------------------------------------------------------

step('open the portal', async ({ page }) => {
  const response = await page.goto(`${BASE_URL}/`);
  check(response && response.ok(), `GET / answered ${response?.status()}`);
  await byTestId(page, 'login-email').waitFor();
  check(await byTestId(page, 'login-submit').isVisible(), 'no sign-in button');
});

step('wrong password is refused with a visible error', async ({ page }) => {
  await byTestId(page, 'login-email').fill(ADMIN_EMAIL);
  await byTestId(page, 'login-password').fill(`${ADMIN_PASSWORD}-wrong`);
  await byTestId(page, 'login-submit').click();
  const error = byTestId(page, 'login-error');
  await error.waitFor();
  const text = (await error.textContent()) || '';
  check(/wrong email or password/i.test(text), `expected "Wrong email or password", the page shows "${text.trim()}"`);
  check(await byTestId(page, 'login-email').isVisible(), 'the sign-in form went away after a wrong password');
});

step('sign in', async ({ page }) => {
  await byTestId(page, 'login-email').fill(ADMIN_EMAIL);
  await byTestId(page, 'login-password').fill(ADMIN_PASSWORD);
  await byTestId(page, 'login-submit').click();
  await byTestId(page, 'documents-view').waitFor();
  await byTestId(page, 'current-user').waitFor();
  check(await byTestId(page, 'nav-users').isVisible(), 'an admin should see the Users section');
});

step('add a document with the file picker', async ({ page }) => {
  await byTestId(page, 'add-document').click();
  await byTestId(page, 'new-document-view').waitFor();
  await byTestId(page, 'file-input').setInputFiles({ name: FILE_NAME, mimeType: 'text/plain', buffer: V1 });
  await page.getByText(`Selected: ${FILE_NAME}`).waitFor();
  await byTestId(page, 'new-document-title').fill(DOC_TITLE);
  await byTestId(page, 'new-document-description').fill('Added by the browser journey test.');
  await byTestId(page, 'new-document-tags').fill(`journey, run-${RUN}`);
  await byTestId(page, 'new-document-note').fill('first draft');
  await byTestId(page, 'new-document-submit').click();
  await byTestId(page, 'document-view').waitFor();
  const title = await byTestId(page, 'document-title').textContent();
  check(title === DOC_TITLE, `the document page shows the title "${title}", expected "${DOC_TITLE}"`);
  check((await page.getByTestId('version-row').count()) === 1, 'a new document should have exactly one version');
});

step('find the document in the list', async ({ page }) => {
  await gotoSection(page, 'nav-documents', 'documents-view');
  await byTestId(page, 'search-q').fill(RUN);
  await byTestId(page, 'search-submit').click();
  const link = byTestId(page, 'document-link').filter({ hasText: DOC_TITLE });
  await link.waitFor();
  check((await byTestId(page, 'document-item').count()) === 1, 'searching for the run id should find exactly one document');
  await byTestId(page, 'search-tag').fill(`run-${RUN}`);
  await byTestId(page, 'search-q').fill('');
  await byTestId(page, 'search-submit').click();
  await byTestId(page, 'document-link').filter({ hasText: DOC_TITLE }).waitFor();
  await byTestId(page, 'document-link').filter({ hasText: DOC_TITLE }).click();
  await byTestId(page, 'document-view').waitFor();
});

step('upload a second version', async ({ page }) => {
  await byTestId(page, 'version-file-input').setInputFiles({ name: FILE_NAME, mimeType: 'text/plain', buffer: V2 });
  await byTestId(page, 'version-note').fill('second draft');
  await byTestId(page, 'version-submit').click();
  await byTestId(page, 'version-created').waitFor();
  await page.locator('[data-testid="version-row"][data-version="2"]').waitFor();
  check((await byTestId(page, 'version-row').count()) === 2, 'expected two versions');
  const noteText = await page.locator('[data-testid="version-row"][data-version="2"]').textContent();
  check(noteText.includes('second draft'), 'version 2 does not show its note');
});

step('identical content adds no version', async ({ page }) => {
  await byTestId(page, 'version-file-input').setInputFiles({ name: FILE_NAME, mimeType: 'text/plain', buffer: V2 });
  await byTestId(page, 'version-submit').click();
  await byTestId(page, 'version-identical').waitFor();
  check((await byTestId(page, 'version-row').count()) === 2, 'an identical upload must not add a version');
});

step('download version 1 and compare the bytes', async ({ page }) => {
  const [download] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'download-version-1').click()]);
  const failure = await download.failure();
  check(!failure, `the download failed: ${failure}`);
  const file = await download.path();
  const bytes = await readFile(file);
  check(bytes.equals(V1), `version 1 came back with ${bytes.length} bytes that differ from the ${V1.length} uploaded`);
  const suggested = download.suggestedFilename();
  check(suggested === FILE_NAME, `the browser saved the file as "${suggested}", expected "${FILE_NAME}"`);
  await writeFile(path.join(ARTIFACTS, 'downloaded-version-1.txt'), bytes);
});

step('add a task', async ({ page }) => {
  const form = byTestId(page, 'new-task-form');
  await form.getByTestId('task-title-input').fill(TASK_TITLE);
  await form.getByTestId('task-description-input').fill('Check the second draft.');
  await form.getByTestId('task-add').click();
  const item = taskItem(page, TASK_TITLE);
  await item.waitFor();
  check((await item.getByTestId('task-status').getAttribute('data-status')) === 'open', 'a new task should be open');
});

step('assign the task to myself', async ({ page }) => {
  const item = taskItem(page, TASK_TITLE);
  const select = item.getByTestId('task-assignee');
  const options = await select.locator('option').evaluateAll((els) => els.map((o) => ({ value: o.value, label: o.textContent })));
  const me = options.find((o) => /\(you\)$/.test(o.label || ''));
  check(me, `no "(you)" entry among the assignees: ${options.map((o) => o.label).join(', ')}`);
  await select.selectOption(me.value);
  await item.getByTestId('task-assignee-name').filter({ hasText: 'Assigned to you' }).waitFor();
});

step('complete the task', async ({ page }) => {
  const item = taskItem(page, TASK_TITLE);
  await item.getByTestId('task-complete').click();
  await item.locator('[data-testid="task-status"][data-status="done"]').waitFor();
});

step('see it in my tasks', async ({ page }) => {
  await gotoSection(page, 'nav-tasks', 'my-tasks-view');
  const item = taskItem(page, TASK_TITLE);
  await item.waitFor();
  check((await item.getByTestId('task-status').getAttribute('data-status')) === 'done', 'my tasks should show the task as done');
  await item.getByTestId('task-document-link').filter({ hasText: DOC_TITLE }).waitFor();
});

step('see the activity', async ({ page }) => {
  await gotoSection(page, 'nav-activity', 'activity-view');
  await page.locator('[data-testid="activity-item"][data-kind="task_updated"]').first().waitFor();
  await page.locator('[data-testid="activity-item"][data-kind="version_added"]').filter({ hasText: DOC_TITLE }).first().waitFor();
  await page.locator('[data-testid="activity-item"][data-kind="document_created"]').filter({ hasText: DOC_TITLE }).first().waitFor();
});

step('provision a viewer', async ({ page }) => {
  await gotoSection(page, 'nav-users', 'users-view');
  await byTestId(page, 'new-user-email').fill(VIEWER_EMAIL);
  await byTestId(page, 'new-user-name').fill(VIEWER_NAME);
  await byTestId(page, 'new-user-role').selectOption('viewer');
  await byTestId(page, 'new-user-password').fill(VIEWER_PASSWORD);
  await byTestId(page, 'new-user-submit').click();
  const row = page.locator(`[data-testid="user-row"][data-email="${VIEWER_EMAIL}"]`);
  await row.waitFor();
  check((await row.getByTestId('user-role').inputValue()) === 'viewer', 'the new user is not a viewer');
  check((await row.getByTestId('user-status').textContent()) === 'Enabled', 'the new user is not enabled');
});

step('sign out', async ({ page }) => {
  await byTestId(page, 'sign-out').click();
  await byTestId(page, 'login-email').waitFor();
  await page.reload();
  await byTestId(page, 'login-email').waitFor();
  check(!(await byTestId(page, 'current-user').count()), 'still signed in after reloading');
});

main().catch((err) => {
  console.error(`journey: ${err?.stack || err}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
