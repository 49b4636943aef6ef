// What the page does at the server's limits: it renews a short-lived access token by itself, and
// messages refused as too fast are sent again after the wait, none lost, none doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, openPage, say } from './support.js';

// Access tokens die after 1 s (+5 s leeway); 2 messages in a burst, then 2 per second.
const env = useServerAndBrowser({
  env: { DUNGEONTALK_ACCESS_TOKEN_TTL_SECS: '1', DUNGEONTALK_RATE_BURST: '2', DUNGEONTALK_RATE_PER_SEC: '2' },
});

async function registered(name) {
  const page = await openPage(env, name);
  await page.getByTestId('mode-register').click();
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('nickname-input').fill(name);
  await page.getByTestId('password-input').fill('correct horse');
  await page.getByTestId('login-button').click();
  await page.getByTestId('me').filter({ hasText: name }).waitFor();
  return page;
}

const accessToken = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('dungeontalk.session')).accessToken);

test('an expired access token is renewed with the refresh cookie, without signing out', async () => {
  const page = await registered('renata');
  const first = await accessToken(page);
  // Past the token's life and the server's leeway; the room list refreshes every 5 s.
  await page.waitForTimeout(7_500);
  await page.waitForFunction((old) => JSON.parse(localStorage.getItem('dungeontalk.session'))?.accessToken !== old, first);
  assert.equal(await page.getByTestId('me').textContent(), 'renata', 'still signed in');
  await page.getByTestId('room-name-input').fill('Fresh Tokens');
  await page.getByTestId('create-room-button').click();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
});

test('messages refused as too fast are sent again after the wait, once each, in order', async () => {
  const page = await openPage(env, 'Quick');
  await page.getByTestId('nickname-input').fill('Quick');
  await page.getByTestId('login-button').click();
  await page.getByTestId('room-name-input').fill('Rapid Fire');
  await page.getByTestId('create-room-button').click();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const sent = ['one', 'two', 'three', 'four', 'five', 'six'];
  for (const text of sent) await say(page, text);
  await page.getByTestId('toast').and(page.locator('[data-code="chat.rate_limited"]')).first().waitFor();
  await page.getByTestId('message').filter({ hasText: 'six' }).waitFor({ timeout: 15_000 });
  const texts = await page.getByTestId('message').locator('.text').allTextContents();
  assert.deepEqual(texts, sent);
});

test('two tabs renewing the same login at once both stay signed in', async () => {
  const first = await registered('tabitha');
  await first.getByTestId('room-name-input').fill('Two Tabs');
  await first.getByTestId('create-room-button').click();
  await first.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  // The second tab shares the cookies and the saved session, as tabs of one browser do.
  const second = await first.context().newPage();
  await second.goto(first.url());
  await second.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  // Both tabs' first renewals reach the server together, with the same refresh cookie.
  const held = [];
  await first.context().route('**/api/auth/refresh', async (route) => {
    if (held.length >= 2) return route.continue();
    held.push(route);
    if (held.length === 2) for (const r of held) await r.continue();
  });
  const old = await accessToken(first);
  await first.waitForTimeout(7_500);
  await first.waitForFunction((t) => JSON.parse(localStorage.getItem('dungeontalk.session'))?.accessToken !== t, old);
  assert.equal(held.length, 2, 'both tabs renewed');
  for (const page of [first, second]) {
    await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
    assert.equal(await page.getByTestId('me').textContent(), 'tabitha', 'still signed in');
  }
  await say(second, 'Still here in both tabs');
  await first.getByTestId('message').filter({ hasText: 'Still here in both tabs' }).waitFor();
});
