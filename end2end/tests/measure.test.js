// The Measure panel: a short live comparison from the browser over the five transports, drawn
// as CDFs, beside the comparison the server was built with; both through the typed server
// functions (`/api/fn/*`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, openPage, ARTIFACTS } from './support.js';

const env = useServerAndBrowser({ env: { DUNGEONTALK_RATE_PER_SEC: '50', DUNGEONTALK_RATE_BURST: '50' } });

test('the Measure panel times each transport and keeps the run on the server', async () => {
  const page = await openPage(env, 'Gauge');
  await page.getByTestId('nickname-input').fill('Gauge');
  await page.getByTestId('login-button').click();
  await page.getByTestId('measure-link').click();
  await page.getByTestId('measure').waitFor();
  await page.locator('.measure-controls input').fill('30');
  await page.getByTestId('measure-run').click();
  const rows = page.getByTestId('measure-table').locator('tr');
  await rows.nth(5).waitFor({ timeout: 90_000 });
  const cells = await rows.evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(cells.map((c) => c[0]), ['ws', 'sse', 'poll', 'stomp', 'sockjs'], 'every transport, in order');
  for (const c of cells) {
    assert.equal(c[1], '30', `30 echoes timed over ${c[0]}`);
    assert.ok(Number(c[2]) > 0 && Number(c[2]) <= Number(c[4]), `p50 <= p99 over ${c[0]}: ${c}`);
  }
  assert.equal(await page.getByTestId('measure-chart').locator('polyline').count(), 5, 'five CDFs');
  // The run went to the server through a server function, under the token's nickname.
  await page.getByTestId('measure-recent').locator('li').filter({ hasText: 'Gauge' }).waitFor();
  await page.getByTestId('measure').screenshot({ path: join(ARTIFACTS, 'measure.png') });
});
