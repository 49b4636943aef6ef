// The page rides out a server restart: it shows that it is reconnecting, reconnects by itself,
// resumes from the last seq it saw, and shows each message exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchBrowser, freePort, freshDataDir, ARTIFACTS } from './support.js';

let browser;
let server;

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a restart of the server shows Reconnecting, then resumes with nothing lost or doubled', async () => {
  const port = await freePort();
  const dataDir = freshDataDir();
  server = await startServer({ port, dataDir });
  browser = await launchBrowser();

  const page = await (await browser.newContext()).newPage();
  await page.goto(server.base);
  await page.getByTestId('nickname-input').fill('Aria');
  await page.getByTestId('login-button').click();
  await page.getByTestId('room-name-input').fill('Echo Chamber');
  await page.getByTestId('create-room-button').click();
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor();
  await page.getByTestId('message-input').fill('before the restart');
  await page.getByTestId('send-button').click();
  await page.getByTestId('message').filter({ hasText: 'before the restart' }).waitFor();

  await server.stop();
  await page.getByTestId('status').filter({ hasText: 'Reconnecting' }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'reconnecting.png') });

  server = await startServer({ port, dataDir });
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 20_000 });
  await page.getByTestId('message-input').fill('after the restart');
  await page.getByTestId('send-button').click();
  await page.getByTestId('message').filter({ hasText: 'after the restart' }).waitFor();

  const texts = await page.getByTestId('message').locator('.text').allTextContents();
  assert.deepEqual(texts, ['before the restart', 'after the restart']);
  const seqs = await page.locator('[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'lines stay in seq order');
  assert.equal(new Set(seqs).size, seqs.length, 'no line twice');
});
