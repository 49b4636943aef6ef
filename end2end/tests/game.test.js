// Three players in three browser contexts (one of them on a 390×844 phone) find a game through the
// matching queue, play its three turns, roll dice, watch the narration stream in, and reach the end
// screen; a screenshot of each phase on a desktop and on the phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser, openPage, signInAsGuest, ARTIFACTS } from './support.js';

const env = useServerAndBrowser({
  env: {
    DUNGEONTALK_GM: 'script',
    DUNGEONTALK_GAME_TURNS: '3',
    DUNGEONTALK_MATCH_SIZE: '3',
    // Slow enough that the narration is seen streaming.
    DUNGEONTALK_GM_SCRIPT_PACE_MS: '150',
  },
});

const shoot = (page, name) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

test('three players find a game, play three turns with dice, and reach the end', async () => {
  const players = [
    ['Aria', { width: 1100, height: 900 }],
    ['Bo', { width: 390, height: 844 }],
    ['Cyd', { width: 900, height: 800 }],
  ];
  const pages = [];
  for (const [name, viewport] of players) {
    pages.push(await signInAsGuest(await openPage(env, name, viewport), name));
  }
  const [aria, bo] = pages;
  await aria.getByTestId('find-world').selectOption('FANTASY');
  await aria.getByTestId('find-game-button').click();
  await aria.getByTestId('find-status').filter({ hasText: '1 of 3' }).waitFor();
  await shoot(aria, 'game-finding.png');
  for (const page of pages.slice(1)) {
    await page.getByTestId('find-world').selectOption('FANTASY');
    await page.getByTestId('find-game-button').click();
  }
  // Matched: everyone lands in the party's room, and the game starts once all three are in.
  for (const page of pages) {
    await page.getByTestId('game-panel').waitFor();
    await page.getByTestId('game-phase').filter({ hasText: 'Turn 1 of 3' }).waitFor();
  }
  await shoot(aria, 'game-turn-input.png');
  await shoot(bo, 'game-turn-input-phone.png');

  const moves = [
    ['search the altar', 'light a torch', 'guard the door'],
    ['open the gate', 'follow Aria', 'cover the rear'],
    ['grab the crown', 'hold the line', 'run for it'],
  ];
  for (let turn = 1; turn <= 3; turn++) {
    for (const page of pages) {
      await page.getByTestId('game-phase').filter({ hasText: `Turn ${turn} of 3 · your moves` }).waitFor();
    }
    // A roll each turn, by a different player; everyone sees it inline.
    const roller = pages[turn - 1];
    await roller.getByTestId(turn === 1 ? 'roll-d20' : 'roll-dex').click();
    for (const page of pages) {
      await page.getByTestId('system-line').filter({ hasText: 'rolled' }).nth(turn - 1).waitFor();
    }
    for (const [i, page] of pages.entries()) {
      await page.getByTestId('action-input').fill(moves[turn - 1][i]);
      await page.getByTestId('action-button').click();
      await page.getByTestId('action-hint').filter({ hasText: /made your move|queued|answering/ }).waitFor();
    }
    // The narrator answers: its text streams in, then stays.
    await bo.getByTestId('narration-stream').waitFor();
    if (turn === 1) {
      await shoot(aria, 'game-narrating.png');
      await shoot(bo, 'game-narrating-phone.png');
    }
    const answer = await aria.getByTestId('narration-text').filter({ hasText: moves[turn - 1][0] });
    await answer.waitFor();
    for (const [i, [name]] of players.entries()) {
      assert.match(await answer.textContent(), new RegExp(`${name} tries to "${moves[turn - 1][i]}"`));
    }
  }
  for (const page of pages) {
    await page.getByTestId('game-end').waitFor();
  }
  const end = await aria.getByTestId('game-end').textContent();
  assert.match(end, /rolls went their way over 3 turns/);
  await shoot(aria, 'game-end.png');
  await shoot(bo, 'game-end-phone.png');
  // The room list marks game rooms (and an earlier match does not send the player back).
  await aria.goto(env.server.base);
  await aria.getByTestId('game-mark').first().waitFor();
  await aria.getByTestId('find-game-button').waitFor();
  await shoot(aria, 'game-room-list.png');
});
