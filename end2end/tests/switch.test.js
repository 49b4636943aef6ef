// One player flips WebSocket → SSE → long polling → STOMP → SockJS → WebSocket while another
// keeps talking:
// every message shows exactly once, in seq order, and each transport gets a latency figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, openPage, signInAsGuest, say, ARTIFACTS } from './support.js';

const env = useServerAndBrowser();

const signIn = async (nickname) =>
  signInAsGuest(await openPage(env, nickname, { width: 900, height: 1000 }), nickname);

async function switchTo(page, id, label) {
  await page.getByTestId(`transport-${id}`).click();
  await page.getByTestId('active-transport').filter({ hasText: label }).waitFor();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  assert.equal(await page.getByTestId(`transport-${id}`).getAttribute('aria-pressed'), 'true');
}

test('switching transports mid-conversation loses and repeats nothing', async () => {
  const aria = await signIn('Aria');
  // Tokens stay out of URLs wherever the browser lets them: only WebSockets (not seen here)
  // carry one; SockJS's requests send it as a header.
  const tokenUrls = [];
  aria.on('request', (r) => {
    if (r.url().includes('token=')) tokenUrls.push(r.url());
  });
  await aria.getByTestId('room-name-input').fill('Switchback');
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const bo = await signIn('Bo');
  await bo.getByRole('link', { name: 'Switchback' }).click();
  await bo.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await aria.getByTestId('system-line').filter({ hasText: 'Bo joined' }).waitFor();

  // Bo talks the whole time Aria switches.
  const boSays = Array.from({ length: 36 }, (_, i) => `bo ${String(i).padStart(2, '0')}`);
  const talking = (async () => {
    for (const text of boSays) {
      await say(bo, text);
      await bo.waitForTimeout(120);
    }
  })();

  const ariaSays = [];
  const plan = [['sse', 'SSE'], ['poll', 'Long polling'], ['stomp', 'STOMP'], ['sockjs', 'SockJS'], ['ws', 'WebSocket']];
  await say(aria, 'over WebSocket #0');
  ariaSays.push('over WebSocket #0');
  for (const [i, [id, label]] of plan.entries()) {
    await switchTo(aria, id, label);
    const text = `over ${label} #${i + 1}`;
    await say(aria, text);
    ariaSays.push(text);
    await aria.getByTestId('message').filter({ hasText: text }).waitFor();
  }
  await talking;
  await aria.getByTestId('message').filter({ hasText: boSays.at(-1) }).waitFor();

  const texts = await aria.getByTestId('message').locator('.text').allTextContents();
  assert.deepEqual(texts.filter((t) => t.startsWith('bo ')), boSays, "all of Bo's messages, once each, in order");
  assert.deepEqual(texts.filter((t) => t.startsWith('over ')), ariaSays);
  // Seqs of every line (messages and system lines) run 1, 2, 3, … with no gap and no repeat.
  const seqs = await aria.locator('[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  // Make-before-break: the switches never made Aria look like she left and came back.
  const system = await aria.getByTestId('system-line').allTextContents();
  assert.deepEqual(system.map((s) => s.replace(/^\d\d:\d\d/, '')), ['Aria joined', 'Bo joined']);
  // Bo's view agrees line for line.
  await bo.getByTestId('message').filter({ hasText: ariaSays.at(-1) }).waitFor();
  const boTexts = await bo.getByTestId('message').locator('.text').allTextContents();
  assert.deepEqual(boTexts, texts);

  assert.deepEqual(tokenUrls, [], 'no token in an HTTP URL (the streams use the cookie, SockJS a header)');
  for (const id of ['ws', 'sse', 'poll', 'stomp', 'sockjs']) {
    assert.match(await aria.getByTestId(`latency-${id}`).textContent(), /\d+ ms · p99 \d+ ms · n=\d+/, id);
  }
  await aria.screenshot({ path: join(ARTIFACTS, 'switcher.png'), fullPage: true });
});
