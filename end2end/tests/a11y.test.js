// Accessibility: a whole evening's flow by keyboard alone (guest sign-in, a new room, a message,
// another transport, a whisper, a toast dismissed), and axe-core (pinned in package.json) finds no
// WCAG 2.1 A/AA violation on the sign-in page, the room list, a chat and a game screen, in the
// dark theme and the light one (prefers-color-scheme), on a desktop and a 390x844 phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { apiOf, useServerAndBrowser, openPage, signInAsGuest, ARTIFACTS } from './support.js';

const env = useServerAndBrowser();
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const api = apiOf(env);

/** Presses Tab (or Shift+Tab) until `focused()` holds in the page; fails if it never does. */
async function tabUntil(page, focused, arg, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate(focused, arg)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`not reachable by keyboard: ${focused} ${arg}`);
}
const onTestId = (id) => document.activeElement?.dataset?.testid === id;
const tabTo = (page, id, opts) => tabUntil(page, onTestId, id, opts);

test('a player can do everything by keyboard alone', async () => {
  const page = await openPage(env, 'Kay');
  await tabTo(page, 'nickname-input');
  await page.keyboard.type('Kay');
  await page.keyboard.press('Enter');
  await page.getByTestId('me').filter({ hasText: 'Kay' }).waitFor();

  await tabTo(page, 'room-name-input');
  await page.keyboard.type('Keyboard Keep');
  await page.keyboard.press('Enter');
  await page.getByTestId('room-title').filter({ hasText: 'Keyboard Keep' }).waitFor();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const room = page.url().split('/rooms/')[1];

  await tabTo(page, 'message-input');
  await page.keyboard.type('typed, never clicked');
  await page.keyboard.press('Enter');
  await page.getByTestId('message').filter({ hasText: 'typed, never clicked' }).waitFor();

  await tabTo(page, 'transport-sse', { back: true });
  await page.keyboard.press('Enter');
  await page.getByTestId('active-transport').filter({ hasText: 'SSE' }).waitFor();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();

  // Bo comes in; Kay whispers to him from the member list.
  const bo = (await api('/api/auth/guest', null, { nickname: 'Bo' })).accessToken;
  await api(`/api/rooms/${room}/messages`, bo, { type: 'JOIN' });
  await page.getByTestId('member').filter({ hasText: 'Bo' }).waitFor();
  await tabUntil(page, () => document.activeElement?.closest('[data-testid="member"]')?.textContent.includes('Bo'));
  await page.keyboard.press('Enter');
  await page.getByTestId('whisper-target').filter({ hasText: 'Whispering to Bo' }).waitFor();
  await tabTo(page, 'message-input', { back: true });
  await page.keyboard.type('only for you');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="message"].whisper').filter({ hasText: 'only for you' }).waitFor();

  // A toast goes with Escape.
  const elsewhere = (await api('/api/rooms', bo, { name: 'Side Room', maxCapacity: 0 })).roomId;
  const kayId = await page.evaluate(() => JSON.parse(localStorage.getItem('dungeontalk.session')).memberId);
  await api(`/api/rooms/${elsewhere}/invitations`, bo, { memberId: kayId });
  const toast = page.getByTestId('toast').filter({ hasText: 'Bo invited you to Side Room.' });
  await toast.waitFor();
  await page.keyboard.press('Escape');
  await toast.waitFor({ state: 'detached' });
});

/** Runs axe on the page as it is; fails listing each violation and where. */
async function audit(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n    ')}`);
  assert.deepEqual(found, [], `${what}:\n${found.join('\n')}`);
}

for (const [scheme, viewport] of [['dark', { width: 1280, height: 800 }], ['light', { width: 1280, height: 800 }], ['light', { width: 390, height: 844 }], ['dark', { width: 390, height: 844 }]]) {
  test(`axe finds nothing on sign-in, the room list, a chat and a game (${scheme}, ${viewport.width}px)`, async () => {
    const page = await openPage(env, `axe-${scheme}`, viewport);
    await page.emulateMedia({ colorScheme: scheme });
    await page.getByTestId('nickname-input').waitFor();
    await audit(page, 'sign-in');
    await signInAsGuest(page, 'Axel');

    const host = (await api('/api/auth/guest', null, { nickname: 'Host' })).accessToken;
    const room = (await api('/api/rooms', host, { name: `Audit Hall ${scheme} ${viewport.width}`, maxCapacity: 0 })).roomId;
    await api(`/api/rooms/${room}/messages`, host, { type: 'JOIN' });
    await api(`/api/rooms/${room}/messages`, host, { type: 'TALK', content: 'a line to read, with https://example.com' });
    await page.getByTestId('room-link').filter({ hasText: `Audit Hall ${scheme} ${viewport.width}` }).waitFor();
    await audit(page, 'room list');

    await page.getByTestId('room-link').filter({ hasText: `Audit Hall ${scheme} ${viewport.width}` }).click();
    await page.getByTestId('message').filter({ hasText: 'a line to read' }).waitFor();
    await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
    await audit(page, 'chat');

    const game = await api('/api/games', host, { name: `Audit Game ${scheme} ${viewport.width}`, worldType: 'FANTASY', maxPlayers: 2 });
    await page.goto(`${env.server.base}/rooms/${game.roomId}`);
    await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
    await page.locator('.game').waitFor();
    await audit(page, 'game');
    await page.screenshot({ path: join(ARTIFACTS, `a11y-game-${scheme}-${viewport.width}.png`) });
  });
}
