// Two players on the local cluster (two nodes behind haproxy, over Redis, a Kafka-API broker and a
// MongoDB-wire server) chat; one node is killed (kill -9) mid-conversation; both pages reconnect
// through the load balancer and carry on with nothing lost and nothing doubled.
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

test('two pages chat through the cluster and ride out a killed node', async () => {
  env.server = await startCluster();
  env.browser = await launchBrowser();

  const aria = await signIn('Aria');
  await aria.getByTestId('room-name-input').fill('Crossroads');
  await aria.getByTestId('create-room-button').click();
  await aria.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  const bo = await signIn('Bo');
  await bo.getByRole('link', { name: 'Crossroads' }).click();
  await bo.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await aria.getByTestId('system-line').filter({ hasText: 'Bo joined' }).waitFor();

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
