// Shared helpers of the browser tests: the server under test, the demo
// accounts, chromium (Debian's, driven by playwright-core), login, the
// language switch, screenshots and axe-core.
//
// scripts/browser-tests starts `mynacard serve --demo` and sets:
//   MYNACARD_URL        the server's base URL (http://127.0.0.1:PORT)
//   MYNACARD_DATA       its data directory (demo/accounts.json: the logins)
//   MYNACARD_ARTIFACTS  where screenshots go (target/test-artifacts/browser)
//   MYNACARD_CHROMIUM   the browser (default /usr/bin/chromium)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BASE = (process.env.MYNACARD_URL ?? '').replace(/\/$/, '');
export const DATA = process.env.MYNACARD_DATA ?? '';
export const ARTIFACTS = process.env.MYNACARD_ARTIFACTS ?? path.resolve('target/test-artifacts/browser');
const CHROMIUM = process.env.MYNACARD_CHROMIUM ?? '/usr/bin/chromium';

if (!BASE || !DATA) {
  throw new Error('run the browser tests through scripts/browser-tests (MYNACARD_URL and MYNACARD_DATA are not set)');
}

/** Every demo staff account: { login, password, role, municipality }. */
export function accounts() {
  const file = path.join(DATA, 'demo', 'accounts.json');
  const list = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(Array.isArray(list) && list.length > 0, `${file} lists no demo accounts`);
  return list;
}

/** The demo's card wallet (DATA/demo/wallet.json): `{ cards: [...], residents: [...] }`. */
export function wallet() {
  return JSON.parse(fs.readFileSync(path.join(DATA, 'demo', 'wallet.json'), 'utf8'));
}

/** The seeded resident whose scenario is `scenario` (`no_card`, `ordinary`, `pin_locked`, …) and whose name contains `name`, if given. */
export function resident(scenario, name) {
  const found = wallet().residents.find((r) => r.scenario === scenario && (name === undefined || r.name.includes(name)));
  assert.ok(found, `no demo resident ${name ?? ''} in the scenario ${scenario} in wallet.json`);
  return found;
}

/**
 * The first demo account of `role` (`window`, `hotline`, `admin`) whose
 * municipality's name contains `municipality`, if given.
 */
export function account(role, municipality) {
  const found = accounts().find(
    (a) => a.role === role && (municipality === undefined || (a.municipality ?? '').includes(municipality)),
  );
  assert.ok(found, `no demo ${role} account${municipality ? ` of ${municipality}` : ''} in accounts.json`);
  return found;
}

/** Debian's chromium, headless, with no network of its own and a fresh profile. */
export async function launch() {
  // chromium.launch() gives every run a new, empty --user-data-dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context (its own cookies) on the server under test. It
 * records the pages' console errors and uncaught exceptions in
 * `context.problems` (see `takeProblems`).
 */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({
    baseURL: BASE,
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  context.problems = [];
  context.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    // A 4xx/5xx answer is logged as "Failed to load resource"; the tests
    // check the statuses they expect themselves.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(text)) return;
    context.problems.push(`${message.page()?.url() ?? '?'}: console error: ${text}`);
  });
  context.on('weberror', (error) => {
    context.problems.push(`${error.page()?.url() ?? '?'}: uncaught: ${error.error().message}`);
  });
  return context;
}

/** The console errors and uncaught exceptions seen since the last call. */
export function takeProblems(context) {
  const problems = context.problems.splice(0);
  return problems;
}

/** Opens the login page and logs in as `who`; answers the page after the redirect. */
export async function login(page, who, { lang = 'ja' } = {}) {
  await page.goto('/login');
  const t = lang === 'en' ? { login: 'Login', password: 'Password', submit: 'Log in' } : { login: 'ログインID', password: 'パスワード', submit: 'ログイン' };
  await page.getByLabel(t.login, { exact: true }).fill(who.login);
  await page.getByLabel(t.password, { exact: true }).fill(who.password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.getByRole('button', { name: t.submit, exact: true }).click(),
  ]);
  return page;
}

/** Sets the language cookie (`ja` or `en`) through the page's own switch URL and comes back. */
export async function setLanguage(page, lang) {
  const current = new URL(page.url() === 'about:blank' ? `${BASE}/` : page.url());
  const next = current.pathname + current.search;
  const response = await page.goto(`/lang/${lang}?next=${encodeURIComponent(next)}`);
  assert.ok(response && response.ok(), `the language switch to ${lang} answered ${response?.status()}`);
  assert.equal(await page.locator('html').getAttribute('lang'), lang, 'the page is not in the language chosen');
}

/** A full-page screenshot: target/test-artifacts/browser/NAME.png. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// --- axe-core -----------------------------------------------------------------

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = require('axe-core/package.json').version;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING = new Set(['serious', 'critical']);

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now and
 * answers its serious and critical violations, one line per element:
 * "URL  rule-id (impact): help — target". The page's CSP forbids inline
 * scripts, so axe is evaluated through the DevTools protocol (which CSP
 * does not govern) instead of a <script> element.
 */
export async function axeViolations(page, label = '') {
  const present = await page.evaluate(() => typeof window.axe === 'object');
  if (!present) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const where = label ? `${label} ${page.url()}` : page.url();
  const lines = [];
  for (const v of results.violations) {
    if (!BLOCKING.has(v.impact)) continue;
    for (const node of v.nodes) {
      lines.push(`${where}  ${v.id} (${v.impact}): ${v.help} — ${node.target.join(' ')}`);
    }
  }
  return lines;
}

/** Collects violations across a test and fails once, listing all of them. */
export class A11yLog {
  constructor() {
    this.lines = [];
    this.pages = 0;
  }

  async check(page, label) {
    this.pages += 1;
    this.lines.push(...(await axeViolations(page, label)));
  }

  assertClean() {
    assert.ok(this.pages > 0, 'axe-core checked no page');
    assert.deepEqual(
      this.lines,
      [],
      `axe-core ${AXE_VERSION} found ${this.lines.length} serious or critical violation(s):\n${this.lines.join('\n')}`,
    );
  }
}
