// The main journeys of the web UI, as staff and card holders go through
// them, in Debian's chromium: each step found by what people see (roles,
// labels, the Japanese the pages are written in), each outcome
// screenshotted to target/test-artifacts/browser/NN-name.png, and axe-core
// run on every page state on the way (no serious or critical violation).
//
// The server is `mynacard serve --demo --today 2026-11-29` with a fresh
// data directory (scripts/browser-tests); the residents and cards are the
// demo's (DATA/demo/wallet.json).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A11yLog, account, launch, login, newContext, resident, screenshot, takeProblems } from './lib.mjs';

const TODAY = '2026-11-29';
/** The PINs the holder chooses at delivery. */
const PINS = { auth: '3141', sign: 'MYNA2026', input: '2718', registry: '1618' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A fresh context and page; the test's own console errors fail it. */
async function session(t) {
  const context = await newContext(browser);
  const page = await context.newPage();
  const a11y = new A11yLog();
  t.after(async () => {
    await context.close();
  });
  return {
    context,
    page,
    a11y,
    /** Screenshot and accessibility check of the page as it is now. */
    async step(name, label = name) {
      await screenshot(page, name);
      await a11y.check(page, label);
    },
    finish() {
      const problems = takeProblems(context);
      assert.deepEqual(problems, [], `the pages logged errors:\n${problems.join('\n')}`);
      a11y.assertClean();
    },
  };
}

/**
 * An accessible name as a pattern: the text with any run of white space
 * (the ideographic space of names included) matching any or none, since
 * Chromium puts a space before visually hidden text.
 */
function named(...parts) {
  const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(parts.map((p) => escape(p).replace(/\s+/g, '\\s*')).join('\\s*'));
}

/** The success banner after a POST → redirect → GET. */
function successBanner(page) {
  return page.getByRole('status').filter({ has: page.getByRole('heading', { name: '完了しました' }) });
}

/** Types a PIN and its confirmation into one PIN's fieldset of the on-screen pad. */
async function typePin(page, group, pin, confirm = pin) {
  const fieldset = page.getByRole('group', { name: group, exact: true });
  await fieldset.getByLabel('暗証番号', { exact: true }).fill(pin);
  const again = fieldset.getByLabel('確認のため、もう一度入力してください', { exact: true });
  if (await again.count()) await again.fill(confirm);
}

describe('journeys', () => {
  test('(a) a Chiyoda clerk takes an application, waits for the card and delivers it; the holder sets the PINs', async (t) => {
    const s = await session(t);
    const { page } = s;
    const takahashi = resident('no_card');
    await login(page, account('window', '千代田'));
    await page.waitForURL('**/window');
    await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '窓口トップ' }).waitFor());
    await s.step('01-window-worklist');

    // Find the resident without a card.
    const search = page.getByRole('search', { name: '住民検索' });
    await search.getByLabel('氏名または振り仮名').fill('高橋');
    await search.getByRole('button', { name: '検索する' }).click();
    await page.waitForURL('**/window/residents?**');
    await page.getByRole('link', { name: named(takahashi.name) }).click();
    await page.waitForURL(`**/window/residents/${takahashi.resident_id}`);
    await assert.doesNotReject(page.getByText('カードはまだありません。').waitFor());
    await s.step('02-resident-without-card');

    // The application.
    await page.getByRole('link', { name: '交付申請', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: '交付申請' }).waitFor();
    assert.ok(await page.getByRole('radio', { name: '新規' }).isChecked(), 'a first card is a new application');
    await s.step('03-application-form');
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await page.waitForURL(/\/window\/residents\/\d+\?done=applied/);
    await successBanner(page).waitFor();
    await s.step('04-application-taken');

    // J-LIS's production line (a background job) makes the card; the work list shows it once made.
    await page.goto('/window');
    const deliver = page.getByRole('link', { name: named('交付する', `（${takahashi.name}）`) });
    const deadline = Date.now() + 90_000;
    while (!(await deliver.count())) {
      assert.ok(Date.now() < deadline, 'the card was not produced within 90 s');
      await page.waitForTimeout(1_000);
      await page.reload();
    }
    await page.locator('#awaiting-delivery').scrollIntoViewIfNeeded();
    await s.step('05-awaiting-delivery');

    // Delivery: the clerk checks the identity, the holder types the PINs on the pad.
    const serial = (await deliver.getAttribute('href')).match(/\/window\/cards\/([0-9A-F]{16})\/delivery$/)?.[1];
    assert.ok(serial, 'the work list links no delivery page');
    await deliver.click();
    await page.getByRole('heading', { level: 1, name: 'カードの交付' }).waitFor();
    await assert.doesNotReject(page.getByRole('main').getByText(serial, { exact: true }).waitFor());
    await page.getByLabel('本人確認書類で、ご本人であることを確認しました').check();
    await typePin(page, '利用者証明用電子証明書の暗証番号', PINS.auth);
    await typePin(page, '署名用電子証明書の暗証番号', PINS.sign);
    await typePin(page, '券面事項入力補助用の暗証番号', PINS.input);
    await typePin(page, '住民基本台帳用の暗証番号', PINS.registry);
    for (const field of await page.locator('input.input--pin').all()) {
      assert.equal(await field.getAttribute('type'), 'password', 'a PIN field shows what is typed');
    }
    await s.step('06-delivery-pinpad');
    await page.getByRole('button', { name: '交付する', exact: true }).click();
    await page.waitForURL(/\/window\/residents\/\d+\?done=delivered/);
    await successBanner(page).filter({ hasText: 'カードを交付しました' }).waitFor();
    const row = page.getByRole('table', { name: 'カード', exact: true }).getByRole('row').filter({ hasText: serial });
    await assert.doesNotReject(row.getByText('有効', { exact: true }).waitFor(), 'the card is not shown active');
    await s.step('07-card-in-use');

    // The card itself: the PINs the holder typed are on it.
    await page.goto('/demo/reader');
    await page.getByRole('button', { name: named('挿入する', takahashi.name) }).click();
    await page.waitForURL(`**/demo/reader/cards/${serial}`);
    await page.getByRole('table', { name: '暗証番号の残り回数' }).waitFor();
    assert.equal((await page.locator('#pin-auth .count').textContent()).trim(), '3', "the new card's auth PIN has not 3 tries");
    await page.getByRole('radio', { name: '利用者証明用電子証明書の暗証番号' }).check();
    await page.getByLabel('暗証番号', { exact: true }).fill(PINS.auth);
    await page.getByRole('button', { name: '照合する' }).click();
    await successBanner(page).filter({ hasText: '正しいです' }).waitFor();
    await s.step('08-reader-new-card-pin-verified');
    s.finish();
  });

  test('(b) a move: the move-out at Chiyoda, then the move-in at Sapporo with the card kept in use', async (t) => {
    const chiyoda = await session(t);
    const kobayashi = resident('ordinary', '小林');
    let page = chiyoda.page;
    await login(page, account('window', '千代田'));
    await page.goto(`/window/residents/${kobayashi.resident_id}`);
    await page.getByRole('link', { name: '転出届', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: '転出届' }).waitFor();
    await page.getByRole('radio', { name: '国内の他の市区町村' }).check();
    await page.getByLabel('転出先の市区町村コード').fill('011002');
    await page.getByLabel('転出予定日').fill(TODAY);
    await chiyoda.step('09-move-out-form');
    await page.getByRole('button', { name: '転出届を受け付ける' }).click();
    await page.waitForURL(/\?done=moved_out/);
    await successBanner(page).filter({ hasText: '転出届を受け付けました' }).waitFor();
    await chiyoda.step('10-moved-out');
    chiyoda.finish();

    const sapporo = await session(t);
    page = sapporo.page;
    await login(page, account('window', '札幌'));
    await page.getByRole('link', { name: '転入届（他の市区町村から・国外から）' }).click();
    await page.getByRole('heading', { level: 1, name: '転入届' }).waitFor();
    await page.getByLabel('登録番号').fill(String(kobayashi.resident_id));
    await page.getByRole('button', { name: '次へ' }).click();
    await page.waitForURL(`**/window/residents/${kobayashi.resident_id}/move-in`);
    await page.getByLabel('本人確認書類で、ご本人であることを確認しました').check();
    await page.getByLabel('転入した日（住所を定めた日）').fill(TODAY);
    await page.getByLabel('新しい住所').fill('北海道札幌市中央区北1条西2丁目1');
    await page.getByLabel('カードを提示して継続利用の手続をする').check();
    await typePin(page, '住民基本台帳用の暗証番号', '2468');
    await sapporo.step('11-move-in-form');
    await page.getByRole('button', { name: '転入届を受け付ける' }).click();
    await page.waitForURL(/\?done=moved_in/);
    await successBanner(page).filter({ hasText: '転入届を受け付けました' }).waitFor();
    await assert.doesNotReject(page.getByText('北海道札幌市中央区北1条西2丁目1').first().waitFor());
    await sapporo.step('12-moved-in-at-sapporo');
    sapporo.finish();
  });

  test('(c) a hotline operator finds a card by the holder and suspends it', async (t) => {
    const s = await session(t);
    const { page } = s;
    const matsumoto = resident('ordinary', '松本');
    await login(page, account('hotline'));
    await page.waitForURL('**/hotline');
    await page.getByLabel('氏名', { exact: true }).fill(matsumoto.name.replace(/\s/g, ''));
    await page.getByLabel('生年月日').fill('平成2年12月1日');
    await page.getByRole('button', { name: '検索する' }).click();
    const results = page.getByRole('table', { name: '該当するカード' });
    await results.waitFor();
    await assert.doesNotReject(results.getByText(matsumoto.card_serial, { exact: true }).waitFor());
    await s.step('13-hotline-found');

    await results.getByRole('link', { name: named('一時利用停止する', 'カード', matsumoto.card_serial) }).click();
    await page.getByRole('heading', { level: 1, name: 'カードの一時利用停止' }).waitFor();
    await page.getByRole('group', { name: 'カードはどうなりましたか' }).getByRole('radio', { name: '紛失' }).check();
    await page.getByRole('group', { name: '連絡してきた方' }).getByRole('radio', { name: '本人' }).check();
    await page.getByLabel('紛失・盗難の場所').fill('地下鉄の車内');
    await page.getByRole('group', { name: /警察への届出/ }).getByRole('radio', { name: 'まだ届け出ていない' }).check();
    await s.step('14-hotline-report-form');
    await page.getByRole('button', { name: '次へ（内容の確認）' }).click();
    await page.getByRole('heading', { level: 1, name: '一時利用停止の確認' }).waitFor();
    await s.step('15-hotline-check-answers');
    await page.getByRole('button', { name: '一時利用停止を確定する' }).click();
    await page.getByRole('heading', { level: 1, name: '一時利用停止を受け付けました' }).waitFor();
    await assert.doesNotReject(page.getByText(matsumoto.card_serial).first().waitFor());
    await s.step('16-hotline-suspended-report');

    // The card says so too: searching again shows it suspended, with no action left.
    await page.goto('/hotline');
    await page.getByLabel('氏名', { exact: true }).fill(matsumoto.name);
    await page.getByLabel('生年月日').fill('1990-12-01');
    await page.getByRole('button', { name: '検索する' }).click();
    const row = page.getByRole('table', { name: '該当するカード' }).getByRole('row').filter({ hasText: matsumoto.card_serial });
    await assert.doesNotReject(row.getByText('一時停止中').waitFor());
    s.finish();
  });

  test('(d) errors are shown clearly: a wrong password, a mistyped PIN pad', async (t) => {
    const s = await session(t);
    const { page } = s;
    const clerk = account('window', '千代田');

    // A wrong password: 401, an error summary that takes focus to the field.
    await page.goto('/login');
    await page.getByLabel('ログインID').fill(clerk.login);
    await page.getByLabel('パスワード', { exact: true }).fill('not-the-password');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'ログイン', exact: true }).click(),
    ]);
    assert.equal(response.status(), 401);
    const loginErrors = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: 'ログインできませんでした' }) });
    await loginErrors.waitFor();
    assert.equal(await page.getByLabel('パスワード', { exact: true }).getAttribute('aria-invalid'), 'true');
    await loginErrors.getByRole('link', { name: 'ログインIDまたはパスワードが違います。' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'the error link does not lead to the field');
    await s.step('17-error-wrong-password');

    // A mistyped PIN pad at a delivery: nothing is delivered, every mistake is listed and linked.
    await login(page, clerk);
    const ito = resident('awaiting_delivery');
    await page.goto(`/window/cards/${ito.card_serial}/delivery`);
    await page.getByRole('heading', { level: 1, name: 'カードの交付' }).waitFor();
    await typePin(page, '利用者証明用電子証明書の暗証番号', '12a4', '12a4');
    await typePin(page, '署名用電子証明書の暗証番号', 'abc', 'abc');
    await typePin(page, '券面事項入力補助用の暗証番号', '1111', '2222');
    await typePin(page, '住民基本台帳用の暗証番号', '', '');
    await page.getByRole('button', { name: '交付する', exact: true }).click();
    const summary = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: '入力内容を確認してください' }) });
    await summary.waitFor();
    const links = summary.getByRole('link');
    const targets = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const wanted of ['#identity_checked', '#pin_auth', '#pin_sign', '#pin_input_support_confirm', '#pin_registry']) {
      assert.ok(targets.includes(wanted), `the error summary does not link ${wanted}: ${targets.join(' ')}`);
    }
    for (const field of await page.locator('input.input--pin').all()) {
      assert.equal(await field.inputValue(), '', 'a PIN was written back into the page');
    }
    assert.equal(await page.locator('#pin_auth').getAttribute('aria-invalid'), 'true');
    await summary.getByRole('link').filter({ hasText: '券面事項入力補助用' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'pin_input_support_confirm');
    await page.locator('.error-summary').scrollIntoViewIfNeeded();
    await s.step('18-error-pinpad');
    // The card still waits for its holder.
    await page.goto('/window');
    await assert.doesNotReject(page.getByRole('link', { name: named('交付する', `（${ito.name}）`) }).waitFor());

    // A page that does not exist, and a page of another role.
    const missing = await page.goto('/window/residents/999999');
    assert.equal(missing.status(), 404);
    await assert.doesNotReject(page.getByRole('heading', { level: 1 }).waitFor());
    await s.step('19-error-not-found');
    const forbidden = await page.goto('/hotline');
    assert.equal(forbidden.status(), 403);
    await s.step('20-error-forbidden');
    s.finish();
  });

  test('(e) the virtual card reader: a card in the wallet shows its PIN tries; the locked one shows 0', async (t) => {
    const s = await session(t);
    const { page } = s;
    const sato = resident('pin_locked');
    await page.goto('/demo/reader');
    await page.getByRole('table', { name: 'カードウォレット' }).waitFor();
    await s.step('21-reader-wallet');
    await page.getByRole('button', { name: named('挿入する', sato.name) }).click();
    await page.getByRole('table', { name: '暗証番号の残り回数' }).waitFor();
    const auth = page.locator('#pin-auth');
    await assert.doesNotReject(auth.getByText('ロック中').waitFor());
    assert.equal((await auth.locator('.count').textContent()).trim(), '0');
    const sign = page.locator('#pin-sign');
    assert.equal((await sign.locator('.count').textContent()).trim(), '5');
    await s.step('22-reader-locked-pin');

    // A wrong signature PIN uses one try, and says so.
    await page.getByRole('radio', { name: '署名用電子証明書の暗証番号' }).check();
    await page.getByLabel('暗証番号', { exact: true }).fill('WRONG123');
    await page.getByRole('button', { name: '照合する' }).click();
    await page.getByRole('alert').filter({ hasText: '残り4回' }).waitFor();
    assert.equal((await page.locator('#pin-sign .count').textContent()).trim(), '4');
    await s.step('23-reader-wrong-pin');
    s.finish();
  });

  test('(f) the language switch: the same page in English, and back', async (t) => {
    const s = await session(t);
    const { page } = s;
    await login(page, account('window', '千代田'));
    await page.goto('/window/residents/new');
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL('**/window/residents/new');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.getByRole('heading', { level: 1, name: 'Register a resident' }).waitFor();
    await s.step('24-english-register-form');
    await page.goto('/window');
    await page.getByRole('heading', { level: 1, name: 'Window' }).waitFor();
    await s.step('25-english-worklist');
    await page.getByRole('link', { name: '日本語' }).click();
    await page.getByRole('heading', { level: 1, name: '窓口トップ' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'ja');
    s.finish();
  });
});
