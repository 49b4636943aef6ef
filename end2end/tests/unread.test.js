// Unread: what others say while a player is elsewhere is counted per room in the list (mentions
// and whispers apart), named in the link for screen readers, summed in the page title, and
// cleared in every tab once one tab shows it; each player's counts are their own. A whisper to a
// player in another room is a toast. A private room made from the UI is invisible to others
// until its creator invites one by name. The list and the chat are also shot at 390x844.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { apiOf, useServerAndBrowser, openPage, signInAsGuest, say, ARTIFACTS } from './support.js';

const env = useServerAndBrowser();

const api = apiOf(env);

const entry = (page, name) => page.getByTestId('room-link').filter({ hasText: name }).locator('xpath=..');
const badge = (page, name) => entry(page, name).getByTestId('unread-badge');

/** Opens a room from the list and waits until it is live, then goes back to the list. */
async function visit(page, name) {
  await page.getByTestId('room-link').filter({ hasText: name }).click();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await page.getByTestId('back-to-rooms').click();
  await page.getByTestId('room-link').first().waitFor();
}

test('unread counts per player, cleared in every tab at once; whispers and mentions elsewhere are toasts', async () => {
  const boSession = await api('/api/auth/guest', null, { nickname: 'Bo' });
  const bo = boSession.accessToken;
  const hall = (await api('/api/rooms', bo, { name: 'Great Hall', maxCapacity: 0 })).roomId;
  await api(`/api/rooms/${hall}/messages`, bo, { type: 'JOIN' });
  await api(`/api/rooms/${hall}/messages`, bo, { type: 'TALK', content: 'before anyone came' });

  const aria = await signInAsGuest(await openPage(env, 'Aria'), 'Aria');
  const cy = await signInAsGuest(await openPage(env, 'Cy'), 'Cy');
  // A room never opened shows its last line but counts nothing.
  await entry(aria, 'Great Hall').getByTestId('room-preview').filter({ hasText: 'before anyone came' }).waitFor();
  assert.equal(await badge(aria, 'Great Hall').count(), 0);
  await visit(aria, 'Great Hall');
  await visit(cy, 'Great Hall');
  const ariaSession = await aria.evaluate(() => JSON.parse(localStorage.getItem('dungeontalk.session')));
  const ariaId = ariaSession.memberId;
  // Aria stays a member of the hall from another device (a whisper goes to members in the room).
  await api(`/api/rooms/${hall}/messages`, ariaSession.accessToken, { type: 'JOIN' });

  // Bo talks while both are in the list: three lines, one names Aria.
  for (const content of ['the feast begins', '@Aria your seat is ready', 'pass the bread']) {
    await api(`/api/rooms/${hall}/messages`, bo, { type: 'TALK', content });
  }
  await aria.getByTestId('toast').filter({ hasText: 'Bo mentioned you in Great Hall: @Aria your seat is ready' }).waitFor();
  await badge(aria, 'Great Hall').filter({ hasText: /^3$/ }).waitFor();
  await entry(aria, 'Great Hall').getByTestId('mention-badge').waitFor();
  await entry(aria, 'Great Hall').getByTestId('room-preview').filter({ hasText: 'pass the bread' }).waitFor();
  await aria.getByRole('link', { name: 'Great Hall, 3 unread, 1 mention', exact: true }).waitFor();
  await aria.waitForFunction(() => document.title === '(3) DungeonTalk');
  await badge(cy, 'Great Hall').filter({ hasText: /^3$/ }).waitFor();
  assert.equal(await entry(cy, 'Great Hall').getByTestId('mention-badge').count(), 0, "Cy was not named");

  // A whisper to Aria: a toast, and counted for her only.
  await api(`/api/rooms/${hall}/messages`, bo, { type: 'TALK', content: 'psst, the cellar', receiverId: ariaId });
  await aria.getByTestId('toast').filter({ hasText: 'Bo whispered to you in Great Hall: psst, the cellar' }).waitFor();
  await badge(aria, 'Great Hall').filter({ hasText: /^4$/ }).waitFor();
  await entry(aria, 'Great Hall').getByTestId('whisper-badge').waitFor();
  await aria.waitForFunction(() => document.title === '(4) DungeonTalk');
  await aria.getByRole('button', { name: 'Dismiss' }).first().waitFor();
  await aria.keyboard.press('Escape');
  await aria.screenshot({ path: join(ARTIFACTS, 'unread-list.png') });

  // A second tab of Aria's shows the same; reading in the first clears both.
  const second = await aria.context().newPage();
  await second.goto(env.server.base);
  await badge(second, 'Great Hall').filter({ hasText: /^4$/ }).waitFor();
  await aria.getByTestId('room-link').filter({ hasText: 'Great Hall' }).click();
  await aria.getByTestId('message').filter({ hasText: 'pass the bread' }).waitFor();
  await badge(second, 'Great Hall').waitFor({ state: 'detached', timeout: 3000 });
  await second.waitForFunction(() => document.title === 'DungeonTalk');
  await aria.waitForFunction(() => document.title === 'DungeonTalk');
  // Lines Aria sees as they come never count; Cy's count is still hers.
  await api(`/api/rooms/${hall}/messages`, bo, { type: 'TALK', content: 'seen at once' });
  await aria.getByTestId('message').filter({ hasText: 'seen at once' }).waitFor();
  await badge(cy, 'Great Hall').filter({ hasText: /^4$/ }).waitFor();
  await aria.getByTestId('back-to-rooms').click();
  await entry(aria, 'Great Hall').getByTestId('room-preview').filter({ hasText: 'seen at once' }).waitFor();
  await aria.waitForTimeout(600);
  assert.equal(await badge(aria, 'Great Hall').count(), 0, 'what Aria saw stays read');
  // The mark is the server's: a reload (or another device) agrees.
  await second.reload();
  await entry(second, 'Great Hall').getByTestId('room-preview').waitFor();
  assert.equal(await badge(second, 'Great Hall').count(), 0);
  await second.close();
});

test('a private room is hidden until its creator invites someone by name', async () => {
  const aria = await signInAsGuest(await openPage(env, 'Aria'), 'Aria');
  const dee = await signInAsGuest(await openPage(env, 'Dee'), 'Dee');
  // Dee is in a room now, so her nickname finds her.
  const lobby = (await api('/api/rooms', (await api('/api/auth/guest', null, { nickname: 'Host' })).accessToken, { name: 'Lobby', maxCapacity: 0 })).roomId;
  await dee.getByTestId('room-link').filter({ hasText: 'Lobby' }).click();
  await dee.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();

  await aria.getByTestId('room-name-input').fill('Secret Den');
  await aria.getByTestId('room-private').check();
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('room-title').filter({ hasText: 'Secret Den' }).waitFor();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const deeToken = await dee.evaluate(() => JSON.parse(localStorage.getItem('dungeontalk.session')).accessToken);
  const listed = await api('/api/rooms', deeToken, undefined, 'GET');
  assert.ok(listed.some((r) => r.name === 'Lobby') && !listed.some((r) => r.name === 'Secret Den'), 'hidden from others');

  // Nobody by that name: a clear error, nothing changes.
  await aria.getByTestId('invite-input').fill('Nobody');
  await aria.getByTestId('invite-button').click();
  await aria.locator('[data-testid="toast"][data-code="member.not_found"]').waitFor();
  await aria.getByTestId('invite-input').fill('dee');
  await aria.getByTestId('invite-button').click();
  await aria.getByTestId('toast').filter({ hasText: 'dee may enter now and was told.' }).waitFor();
  await dee.getByTestId('toast').filter({ hasText: 'Aria invited you to Secret Den.' }).waitFor();
  await dee.getByTestId('back-to-rooms').click();
  await dee.getByTestId('room-link').filter({ hasText: 'Secret Den' }).click();
  await dee.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await say(dee, 'thanks for the key');
  await aria.getByTestId('message').filter({ hasText: 'thanks for the key' }).waitFor();
  assert.ok(lobby);
});

test('on a 390x844 phone the list fills the screen, the composer sits at the bottom, and the panels are drawers', async () => {
  const phone = await signInAsGuest(await openPage(env, 'Eve', { width: 390, height: 844 }), 'Eve');
  await phone.getByTestId('room-name-input').fill('Pocket Cave');
  await phone.getByTestId('create-room-button').click();
  await phone.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await say(phone, 'small screen, big cave https://example.com/map');
  const line = phone.getByTestId('message').filter({ hasText: 'small screen' });
  await line.waitFor();
  const link = line.locator('a');
  assert.equal(await link.getAttribute('href'), 'https://example.com/map');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');

  const box = async (testid) => phone.getByTestId(testid).boundingBox();
  const composer = await box('message-input');
  assert.ok(composer.y + composer.height <= 844 && composer.y + composer.height > 844 - 90, `composer at the bottom: ${JSON.stringify(composer)}`);
  const list = await box('messages');
  assert.ok(list.height > 844 * 0.5, `the list takes most of the height: ${list.height}`);
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), 390, 'nothing wider than the screen');
  // The switcher and members are drawers: closed, then open over the chat, Escape closes.
  assert.equal(await phone.getByTestId('switcher').isVisible(), false);
  await phone.getByTestId('open-members').click();
  await phone.getByTestId('members').waitFor({ state: 'visible' });
  await phone.waitForFunction(() => document.activeElement?.closest('[data-testid="members-drawer"]'));
  await phone.waitForTimeout(300);
  await phone.screenshot({ path: join(ARTIFACTS, 'phone-members-drawer.png') });
  await phone.keyboard.press('Escape');
  await phone.getByTestId('members').waitFor({ state: 'hidden' });
  await phone.waitForFunction(() => document.activeElement?.dataset.testid === 'open-members');
  await phone.getByTestId('open-transport').click();
  await phone.getByTestId('transport-sse').click();
  await phone.getByTestId('active-transport').filter({ hasText: 'SSE' }).waitFor();
  await phone.keyboard.press('Escape');
  await phone.getByTestId('switcher').waitFor({ state: 'hidden' });
  await phone.screenshot({ path: join(ARTIFACTS, 'phone-chat.png') });
  await phone.getByTestId('back-to-rooms').click();
  await phone.getByTestId('room-link').first().waitFor();
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), 390, 'the room list and its form fit too');
  await phone.screenshot({ path: join(ARTIFACTS, 'phone-rooms.png') });
});
