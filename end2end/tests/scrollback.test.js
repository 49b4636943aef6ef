// Scrollback: a room with 300 messages opens on its latest ones; scrolling up reads older pages
// back to the room's start without the view jumping, while another player keeps talking; their
// new lines wait behind a "N new · jump to latest" button. Then the same room on a 390×844 phone,
// where no message line is narrower than 60 % of the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { apiOf, useServerAndBrowser, openPage, signInAsGuest, ARTIFACTS } from './support.js';

const env = useServerAndBrowser({ env: { DUNGEONTALK_RATE_PER_SEC: '1000', DUNGEONTALK_RATE_BURST: '1000' } });

const api = apiOf(env);

const guest = async (nickname) => (await api('/api/auth/guest', null, { nickname })).accessToken;
const talk = (token, room, content) => api(`/api/rooms/${room}/messages`, token, { type: 'TALK', content });

/** Seqs of the message lines shown, in order. */
const shownSeqs = (page) =>
  page.getByTestId('message').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));

/** Where the line with `seq` sits in the viewport (px from the top). */
const topOf = (page, seq) =>
  page.locator(`[data-seq="${seq}"]`).evaluate((e) => e.getBoundingClientRect().top);

test('scrolling up reads the whole room back to its start, and talk meanwhile does not move the view', async () => {
  const bo = await guest('Bo');
  const room = (await api('/api/rooms', bo, { name: 'The Long Hall', maxCapacity: 0 })).roomId;
  await api(`/api/rooms/${room}/messages`, bo, { type: 'JOIN' });
  for (let i = 1; i <= 300; i++) {
    await talk(bo, room, `message ${i}`);
  }
  const aria = await signInAsGuest(await openPage(env, 'Aria'), 'Aria');
  await aria.getByRole('link', { name: 'The Long Hall' }).click();
  await aria.getByTestId('message').filter({ hasText: 'message 300' }).waitFor();
  const first = await shownSeqs(aria);
  assert.ok(first.length < 300, `it opens on the latest page, not all 300 (${first.length})`);

  // Bo keeps talking while Aria reads back.
  let talking = true;
  let said = 0;
  const chatter = (async () => {
    while (talking) {
      await talk(bo, room, `meanwhile ${++said}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  })();

  const list = aria.getByTestId('messages');
  for (let step = 0; step < 20; step++) {
    if (await aria.getByTestId('room-start').isVisible()) break;
    const oldest = await aria.locator('[data-seq]').first().evaluate((e) => Number(e.dataset.seq));
    // Where the oldest line shows once the list is scrolled to its top.
    const want = await aria.locator(`[data-seq="${oldest}"]`).evaluate((e) =>
      e.parentElement.getBoundingClientRect().top + e.offsetTop);
    await list.evaluate((el) => { el.scrollTop = 0; });
    // The next page goes in above; the line that was at the top stays where it was.
    await aria.waitForFunction((seq) => Number(document.querySelector('[data-seq]').dataset.seq) < seq, oldest);
    await aria.waitForTimeout(50);
    const after = await topOf(aria, oldest);
    assert.ok(Math.abs(after - want) <= 2, `line ${oldest} stayed put when older lines came in: ${want} -> ${after}`);
  }
  await aria.getByTestId('room-start').waitFor();
  const texts = await aria.getByTestId('message').locator('.text').allTextContents();
  const history = texts.filter((t) => t.startsWith('message '));
  assert.deepEqual(history, Array.from({ length: 300 }, (_, i) => `message ${i + 1}`), 'all 300, once each, in order');

  // Reading the top: Bo's new lines do not move the view, and are counted on the button.
  const anchor = (await shownSeqs(aria))[0];
  const anchorTop = await topOf(aria, anchor);
  const seen = said;
  while (said < seen + 3) await new Promise((r) => setTimeout(r, 100));
  await aria.getByTestId('jump-to-latest').waitFor();
  await aria.waitForTimeout(400);
  assert.ok(Math.abs((await topOf(aria, anchor)) - anchorTop) <= 2, 'new lines below do not move what is being read');
  assert.match(await aria.getByTestId('jump-to-latest').textContent(), /^\d+ new · jump to latest/);
  await aria.screenshot({ path: join(ARTIFACTS, 'scrollback.png') });
  talking = false;
  await chatter;

  await aria.getByTestId('jump-to-latest').click();
  await aria.getByTestId('message').filter({ hasText: `meanwhile ${said}` }).waitFor();
  await aria.waitForFunction(() => {
    const el = document.querySelector('[data-testid="messages"]');
    return el.scrollHeight - el.scrollTop - el.clientHeight <= 40;
  });
  assert.equal(await aria.getByTestId('jump-to-latest').count(), 0, 'at the latest, the button goes');

  // The same room on a phone: each message line is at least 60 % of the list's width.
  const phone = await signInAsGuest(await openPage(env, 'Cyd', { width: 390, height: 844 }), 'Cyd');
  await phone.getByRole('link', { name: 'The Long Hall' }).click();
  await phone.getByTestId('message').filter({ hasText: `meanwhile ${said}` }).waitFor();
  await talk(bo, room, 'ok');
  await talk(bo, room, `a line from someone whose name is long, ${'very '.repeat(30)}long indeed`);
  await phone.getByTestId('message').filter({ hasText: 'long indeed' }).waitFor();
  const widths = await phone.getByTestId('messages').evaluate((list) => {
    const full = list.clientWidth;
    return [...list.querySelectorAll('[data-testid="message"]')].map((m) => m.getBoundingClientRect().width / full);
  });
  assert.ok(widths.length > 0);
  assert.ok(Math.min(...widths) >= 0.6, `narrowest message line: ${Math.min(...widths).toFixed(2)} of the list`);
  await phone.screenshot({ path: join(ARTIFACTS, 'scrollback-phone.png') });
});
