// Accounts and the room's people: register, log in, see who is online, whisper, log out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, openPage, signInAsGuest, say as send, ARTIFACTS } from './support.js';

const env = useServerAndBrowser();

const newPage = (who) => openPage(env, who, { width: 1000, height: 900 });

async function register(page, name, nickname, password) {
  await page.getByTestId('mode-register').click();
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('nickname-input').fill(nickname);
  await page.getByTestId('password-input').fill(password);
  await page.getByTestId('login-button').click();
  await page.getByTestId('me').filter({ hasText: nickname }).waitFor();
}

async function logIn(page, name, password) {
  await page.getByTestId('mode-login').click();
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('password-input').fill(password);
  await page.getByTestId('login-button').click();
}

async function enter(page, room) {
  await page.getByRole('link', { name: room }).click();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
}

async function say(page, text) {
  await send(page, text);
  await page.getByTestId('message').filter({ hasText: text }).waitFor();
}

const member = (page, nickname) => page.getByTestId('member').filter({ hasText: nickname });
const texts = (page) => page.getByTestId('message').locator('.text').allTextContents();

test('register, log in, see who is online, whisper, log out', async () => {
  const aria = await newPage('Aria');
  await register(aria, 'aria', 'Aria', 'correct horse');
  await aria.getByTestId('logout-button').click();
  await aria.getByTestId('mode-login').waitFor();

  // A wrong password is an error toast with its code; the right one signs in.
  await logIn(aria, 'aria', 'wrong horse');
  const toast = aria.getByTestId('toast').filter({ hasText: 'Wrong account name or password.' });
  await toast.waitFor();
  assert.equal(await toast.getAttribute('data-code'), 'auth.bad_credentials');
  // A failed login backs off: wait it out before the right password.
  await aria.waitForTimeout(1_100);
  await logIn(aria, 'aria', 'correct horse');
  await aria.getByTestId('me').filter({ hasText: 'Aria' }).waitFor();

  await aria.getByTestId('room-name-input').fill('Whisper Hall');
  await aria.getByTestId('room-capacity').selectOption('5');
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await member(aria, 'Aria').waitFor();

  const bo = await newPage('Bo');
  await register(bo, 'bo_the_bard', 'Bo', 'lute strings');
  await bo.getByTestId('room-count').filter({ hasText: 'max 5' }).waitFor();
  await enter(bo, 'Whisper Hall');
  const cy = await signInAsGuest(await newPage('Cy'), 'Cy');
  await enter(cy, 'Whisper Hall');

  // Aria sees both arrive, online.
  for (const who of ['Bo', 'Cy']) {
    await member(aria, who).waitFor();
    assert.equal(await member(aria, who).getAttribute('data-status'), 'ONLINE');
  }

  // Bo types: Aria sees it.
  await bo.getByTestId('message-input').fill('hmm');
  await aria.getByTestId('typing').filter({ hasText: 'Bo is typing…' }).waitFor();
  await bo.getByTestId('message-input').fill('');

  // Aria whispers to Bo: Bo sees it marked as a whisper, Cy never does.
  await member(aria, 'Bo').click();
  await aria.getByTestId('whisper-target').filter({ hasText: 'Whispering to Bo' }).waitFor();
  await say(aria, 'the key is under the altar');
  await aria.getByTestId('whisper-cancel').click();
  await say(aria, 'hello everyone');
  const whisper = bo.locator('[data-testid="message"].whisper').filter({ hasText: 'the key is under the altar' });
  await whisper.waitFor();
  assert.match(await whisper.locator('.whisper-tag').textContent(), /to you/);
  await cy.getByTestId('message').filter({ hasText: 'hello everyone' }).waitFor();
  assert.deepEqual(await texts(cy), ['hello everyone'], 'Cy never sees the whisper');
  assert.deepEqual(await texts(bo), ['the key is under the altar', 'hello everyone']);
  // A mention in the room Aria is looking at is marked on its line (a toast is for other rooms:
  // unread.test.js).
  await say(bo, '@Aria look behind you');
  await aria.locator('[data-testid="message"].mention').filter({ hasText: '@Aria look behind you' }).waitFor();
  await aria.screenshot({ path: join(ARTIFACTS, 'accounts.png') });

  // Logging out kills the token on the server and takes Aria out of the room.
  const token = await aria.evaluate(() => JSON.parse(localStorage.getItem('dungeontalk.session')).accessToken);
  await aria.getByTestId('logout-button').click();
  await aria.getByTestId('mode-login').waitFor();
  assert.equal(await aria.evaluate(() => localStorage.getItem('dungeontalk.session')), null);
  const refused = await fetch(`${env.server.base}/api/rooms`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, 'auth.logged_out');
  await bo.getByTestId('system-line').filter({ hasText: 'Aria left' }).waitFor();
  await member(bo, 'Aria').waitFor({ state: 'detached' });
});

test('a full room says so in a toast', async () => {
  const owner = await signInAsGuest(await newPage('Owner'), 'Owner');
  await owner.getByTestId('room-name-input').fill('Tiny Cell');
  await owner.getByTestId('room-capacity').selectOption('2');
  await owner.getByTestId('create-room-button').click();
  await owner.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const second = await signInAsGuest(await newPage('Second'), 'Second');
  await enter(second, 'Tiny Cell');
  const third = await signInAsGuest(await newPage('Third'), 'Third');
  await third.getByRole('link', { name: 'Tiny Cell' }).click();
  const full = third.getByTestId('toast').filter({ hasText: 'This room is full' });
  await full.waitFor();
  assert.equal(await full.getAttribute('data-code'), 'room.full');
});
