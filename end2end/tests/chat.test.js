// Two players in two browser contexts chat live over WebSocket, in order, with own messages marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, openPage, signInAsGuest, say, ARTIFACTS } from './support.js';

const env = useServerAndBrowser();

const signIn = async (nickname) => signInAsGuest(await openPage(env, nickname), nickname);

async function messages(page) {
  return page.getByTestId('message').locator('.text').allTextContents();
}

test('two players chat live, in order, and history survives a reload', async () => {
  const aria = await signIn('Aria');
  await aria.getByTestId('room-name-input').fill('The Sunken Crypt');
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('room-title').filter({ hasText: 'The Sunken Crypt' }).waitFor();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();

  const bo = await signIn('Bo');
  await bo.getByRole('link', { name: 'The Sunken Crypt' }).click();
  await bo.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  // Aria sees Bo arrive (a system line made from Bo's JOIN).
  await aria.getByTestId('system-line').filter({ hasText: 'Bo joined' }).waitFor();

  const script = [
    [aria, 'A torch flickers. Who goes there?'],
    [bo, 'Just a wandering bard.'],
    [aria, 'Then sing us the way out.'],
    [bo, 'Left at the skull, right at the second skull.'],
  ];
  for (const [page, text] of script) {
    await say(page, text);
    // Wait for the echo so the script's order is the order the server saw.
    await page.getByTestId('message').filter({ hasText: text }).waitFor();
  }
  const expected = script.map(([, t]) => t);
  for (const page of [aria, bo]) {
    await page.getByTestId('message').nth(expected.length - 1).waitFor();
    assert.deepEqual(await messages(page), expected);
  }
  // Own messages are marked on each side.
  const ariaOwn = await aria.locator('[data-testid="message"].own .text').allTextContents();
  assert.deepEqual(ariaOwn, [expected[0], expected[2]]);
  const boOwn = await bo.locator('[data-testid="message"].own .text').allTextContents();
  assert.deepEqual(boOwn, [expected[1], expected[3]]);

  await aria.screenshot({ path: join(ARTIFACTS, 'chat.png') });

  // A reload keeps the session and shows the stored history again.
  await bo.reload();
  await bo.getByTestId('message').nth(expected.length - 1).waitFor();
  assert.deepEqual(await messages(bo), expected);
});

test('a room that does not exist says so instead of retrying forever', async () => {
  const page = await signIn('Wanderer');
  await page.goto(`${env.server.base}/rooms/no-such-room`);
  await page.getByTestId('status').filter({ hasText: 'Offline' }).waitFor();
  await page.getByRole('main').getByRole('alert').filter({ hasText: 'That room does not exist.' }).waitFor();
  await page.getByTestId('toast').filter({ hasText: 'That room does not exist.' }).waitFor();
  assert.equal(await page.getByTestId('me').textContent(), 'Wanderer', 'still signed in');
});
