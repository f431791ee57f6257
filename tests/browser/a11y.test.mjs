// Accessibility of every page: for each demo role (and nobody logged in),
// in Japanese and in English, crawl the pages reachable from the role's
// start page — same-origin links and GET forms, GET only: no form that
// posts is ever sent, so nothing changes (and nobody logs out) — and run
// axe-core (WCAG 2.0/2.1 A and AA) on each. The test fails listing every
// serious or critical violation (page, rule, element), every link that
// leads to an error page, every page not in the language chosen, and every
// console error (a CSP violation included).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, account, axeViolations, launch, login, newContext, screenshot, setLanguage, takeProblems, wallet } from './lib.mjs';

/** Pages per role and language, at most. */
const MAX_PAGES = 100;
/** Pages per URL pattern (/window/residents/:id/move-out, the same query keys), at most, besides the start pages. */
const PER_PATTERN = 3;

/** Paths never visited: not pages, or they act (logout is a POST anyway). */
const SKIP = [/^\/logout/, /^\/lang\//, /^\/api\//, /^\/openapi\.json/, /^\/healthz/, /^\/metrics/, /^\/crl\//, /^\/ocsp/, /^\/static\//, /^\/problems\//];

function pattern(url) {
  const path = url.pathname
    .split('/')
    // Registry ids and card serials (16 hex digits) stand for any.
    .map((segment) => (/^\d+$/.test(segment) || /^[0-9A-F]{16}$/.test(segment) ? ':id' : segment))
    .join('/');
  const keys = [...new Set([...url.searchParams.keys()])].sort().join('&');
  return keys ? `${path}?${keys}` : path;
}

function visitable(href) {
  let url;
  try {
    url = new URL(href, BASE);
  } catch {
    return null;
  }
  if (url.origin !== new URL(BASE).origin) return null;
  if (SKIP.some((re) => re.test(url.pathname))) return null;
  url.hash = '';
  return url;
}

/** Same-origin links and the URLs that the page's GET forms would load with their default values. */
async function outgoing(page) {
  return page.evaluate(() => {
    const found = [...document.querySelectorAll('a[href]')].map((a) => a.href);
    for (const form of document.querySelectorAll('form')) {
      if ((form.getAttribute('method') ?? 'get').toLowerCase() !== 'get') continue;
      const url = new URL(form.action || location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      found.push(url.href);
    }
    return found;
  });
}

/**
 * Visits the pages reachable from `starts`; answers the violations, the
 * broken links and the console errors seen.
 */
async function crawl(page, starts, label, loggedIn, lang) {
  const queue = starts.map((s) => ({ url: visitable(s), from: '(start)' })).filter((e) => e.url);
  const startSet = new Set(queue.map((e) => e.url.href));
  const seen = new Set();
  const perPattern = new Map();
  const violations = [];
  const broken = [];
  let visited = 0;
  while (queue.length && visited < MAX_PAGES) {
    const { url, from } = queue.shift();
    const key = url.href;
    if (seen.has(key)) continue;
    seen.add(key);
    const p = pattern(url);
    if (!startSet.has(key) && (perPattern.get(p) ?? 0) >= PER_PATTERN) continue;
    perPattern.set(p, (perPattern.get(p) ?? 0) + 1);

    const t0 = Date.now();
    const response = await page.goto(url.href);
    const t1 = Date.now();
    visited += 1;
    const status = response?.status() ?? 0;
    if (process.env.MYNACARD_A11Y_VERBOSE) console.log(`    ${label} ${status} ${url.pathname}${url.search}`);
    const type = response?.headers()['content-type'] ?? '';
    if (status >= 400) {
      broken.push(`${label}: ${url.pathname}${url.search} (linked from ${from}) answered ${status}`);
    }
    if (!type.startsWith('text/html')) continue;
    const landed = new URL(page.url());
    if (landed.pathname.startsWith('/login') && !url.pathname.startsWith('/login') && loggedIn) {
      broken.push(`${label}: ${url.pathname}${url.search} (linked from ${from}) sent a logged-in user to the login page`);
      continue;
    }
    const pageLang = await page.locator('html').getAttribute('lang');
    if (status < 400 && pageLang !== lang) {
      broken.push(`${label}: ${url.pathname}${url.search} is in ${pageLang}, not in the language chosen (${lang})`);
    }
    const found = await axeViolations(page, label);
    if (process.env.MYNACARD_A11Y_VERBOSE) console.log(`      goto ${t1 - t0} ms, axe ${Date.now() - t1} ms`);
    if (found.length) {
      violations.push(...found);
      await screenshot(page, `a11y-${label}-${landed.pathname}`);
    }
    for (const href of await outgoing(page)) {
      const next = visitable(href);
      if (next && !seen.has(next.href)) queue.push({ url: next, from: url.pathname + url.search });
    }
  }
  return { violations, broken, visited, patterns: perPattern.size };
}

/** Every seeded resident of Chiyoda (each at another point of a card's life), for the window's crawl. */
function chiyodaResidents() {
  return wallet()
    .residents.filter((r) => r.municipality === '131016')
    .map((r) => `/window/residents/${r.resident_id}`);
}

const who = [
  { label: 'nobody', account: null, starts: () => ['/login', '/', '/demo/reader', '/demo', '/no-such-page'] },
  {
    label: 'window',
    account: () => account('window', '千代田'),
    starts: () => ['/window', ...chiyodaResidents(), '/window/residents?name=%E3%81%95', '/demo/reader', '/demo'],
  },
  { label: 'hotline', account: () => account('hotline'), starts: () => ['/hotline', '/demo/reader', '/demo'] },
  { label: 'admin', account: () => account('admin'), starts: () => ['/admin', '/demo/reader', '/demo'] },
];

// Two crawls at a time: the server and chromium each wait on the other half the time.
describe('accessibility (axe-core, WCAG 2.1 AA: no serious or critical violation)', { concurrency: 2 }, () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('axe-core is live: it flags violations planted in a page', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto('/login');
      await page.evaluate(() => {
        const img = document.createElement('img');
        img.src = '/static/app.css';
        document.querySelector('main').append(img, document.createElement('button'));
      });
      const found = await axeViolations(page, 'planted');
      assert.ok(found.some((line) => line.includes(' image-alt ')), `image-alt not flagged:\n${found.join('\n')}`);
      assert.ok(found.some((line) => line.includes(' button-name ')), `button-name not flagged:\n${found.join('\n')}`);
    } finally {
      await context.close();
    }
  });

  for (const w of who) {
    for (const lang of ['ja', 'en']) {
      test(`every page ${w.label === 'nobody' ? 'before login' : `of the ${w.label} role`} in ${lang === 'ja' ? 'Japanese' : 'English'}`, async () => {
        const context = await newContext(browser);
        try {
          const page = await context.newPage();
          if (w.account) await login(page, w.account());
          else await page.goto('/login');
          await setLanguage(page, lang);
          const label = `${w.label}-${lang}`;
          const result = await crawl(page, w.starts().map((s) => BASE + s), label, Boolean(w.account), lang);
          const problems = takeProblems(context);
          console.log(`  ${label}: ${result.visited} pages (${result.patterns} kinds) checked`);
          assert.ok(result.visited >= 2, `${label}: only ${result.visited} page(s) reached`);
          const report = [
            ...result.violations,
            ...result.broken.filter((b) => !b.includes('/no-such-page')),
            ...problems,
          ];
          assert.deepEqual(report, [], `${label}: ${report.length} problem(s):\n${report.join('\n')}`);
        } finally {
          await context.close();
        }
      });
    }
  }
});
