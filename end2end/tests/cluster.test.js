// Two players on the local cluster (two nodes behind haproxy, over Redis, a Kafka-API broker and a
// MongoDB-wire server) chat; one node is killed (kill -9) mid-conversation; both pages reconnect
// through the load balancer and carry on with nothing lost and nothing doubled. Then, on a fresh
// cluster, the broker hangs: a message sent meanwhile is refused as `unavailable` (a toast), and
// the page sends it again by itself once the broker is back; it arrives once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCluster, launchBrowser, signInAsGuest, say, ARTIFACTS } from './support.js';

const env = {};

after(async () => {
  await env.browser?.close();
  await env.server?.stop();
});

async function texts(page) {
  return page.getByTestId('message').locator('.text').allTextContents();
}

async function signIn(nickname) {
  const page = await (await env.browser.newContext({ viewport: { width: 900, height: 800 } })).newPage();
  page.on('pageerror', (e) => console.error(`[${nickname}] page error:`, e));
  await page.goto(env.server.base);
  return signInAsGuest(page, nickname);
}

/** Aria makes a room, Bo enters it; both pages are connected and have seen each other join. */
async function meet(room) {
  const aria = await signIn('Aria');
  await aria.getByTestId('room-name-input').fill(room);
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const bo = await signIn('Bo');
  await bo.getByRole('link', { name: room }).click();
  await bo.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await aria.getByTestId('system-line').filter({ hasText: 'Bo joined' }).waitFor();
  return { aria, bo };
}

test('two pages chat through the cluster and ride out a killed node', async () => {
  env.server = await startCluster();
  env.browser = await launchBrowser();
  const { aria, bo } = await meet('Crossroads');

  const script = [[aria, 'Which road, bard?'], [bo, 'The one with fewer wolves.']];
  for (const [page, text] of script) {
    await say(page, text);
    await page.getByTestId('message').filter({ hasText: text }).waitFor();
  }
  await bo.getByTestId('message').filter({ hasText: script[0][1] }).waitFor();

  // One node dies; whoever was on it reconnects through haproxy to the other.
  process.kill(env.server.pids.node1, 'SIGKILL');
  const later = [[aria, 'Did the ground just shake?'], [bo, 'Only a little. Onward.']];
  for (const [page, text] of later) {
    await say(page, text);
    await page.getByTestId('message').filter({ hasText: text }).waitFor({ timeout: 30_000 });
  }
  const expected = [...script, ...later].map(([, t]) => t);
  for (const page of [aria, bo]) {
    await page.getByTestId('message').nth(expected.length - 1).waitFor({ timeout: 30_000 });
    await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await texts(page), expected, 'every message once, in order');
  }
  await aria.screenshot({ path: join(ARTIFACTS, 'cluster.png') });
});

test('a message sent while the broker hangs is refused as unavailable, then sent again once', async () => {
  await env.browser?.close();
  await env.server?.stop();
  // A short backend timeout, so the refusal comes quickly.
  env.server = await startCluster({ env: { DUNGEONTALK_BACKEND_TIMEOUT_MS: '1000' } });
  env.browser = await launchBrowser();
  const { aria, bo } = await meet('Storm Shelter');
  await say(aria, 'before the storm');
  await bo.getByTestId('message').filter({ hasText: 'before the storm' }).waitFor();

  process.kill(env.server.pids.kafka, 'SIGSTOP');
  try {
    await say(aria, 'through the storm');
    const refused = aria.locator('[data-testid="toast"][data-code="unavailable"]').first();
    await refused.waitFor({ timeout: 20_000 });
    await aria.screenshot({ path: join(ARTIFACTS, 'unavailable.png') });
    assert.equal(await bo.getByTestId('message').filter({ hasText: 'through the storm' }).count(), 0);
  } finally {
    process.kill(env.server.pids.kafka, 'SIGCONT');
  }
  // Nobody resends by hand: the page does, once the broker answers again.
  for (const page of [bo, aria]) {
    await page.getByTestId('message').filter({ hasText: 'through the storm' }).waitFor({ timeout: 30_000 });
  }
  await say(bo, 'after the storm');
  for (const page of [aria, bo]) {
    await page.getByTestId('message').filter({ hasText: 'after the storm' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await texts(page), ['before the storm', 'through the storm', 'after the storm'], 'once each, in order');
  }
});
