// Starts the dungeontalk binary on a free port with a fresh data dir, and a headless Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');
mkdirSync(ARTIFACTS, { recursive: true });

/** A fresh data dir for one server (or for one server started twice). */
export function freshDataDir() {
  return mkdtempSync(join(tmpdir(), 'dungeontalk-e2e-'));
}

/** A port that is free right now (for a server that must come back on the same address). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Spawns the server; resolves with { base, stop } once it prints its address. */
export async function startServer({ env = {}, port = 0, dataDir = freshDataDir() } = {}) {
  const bin = process.env.DUNGEONTALK_BIN;
  if (!bin) throw new Error('DUNGEONTALK_BIN must point at the built dungeontalk binary');
  const child = spawn(bin, ['--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env: { ...process.env, DUNGEONTALK_LOG: 'warn', DUNGEONTALK_WS_LINGER_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 30 s')), 30_000);
    child.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.split(' ').pop());
    });
  });
  return {
    base,
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

/**
 * Starts the local cluster (deploy/cluster.sh: Redis, a Kafka-API broker, a MongoDB-wire server,
 * two nodes and haproxy) on a free port; resolves with { base, pids, stop } once it is ready.
 * `pids` maps each process's name (redis, kafka, mongo, node1, node2, lb) to its pid; `stop`
 * interrupts the script as Ctrl-C would, which stops all of them.
 */
export async function startCluster({ env = {} } = {}) {
  const bin = process.env.DUNGEONTALK_BIN;
  if (!bin) throw new Error('DUNGEONTALK_BIN must point at the built dungeontalk binary');
  const port = await freePort();
  const dir = freshDataDir();
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'cluster.sh');
  const child = spawn('bash', [script, '--port', String(port)], {
    env: { ...process.env, ...env, DUNGEONTALK_BIN: bin, DUNGEONTALK_CLUSTER_DIR: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 120_000;
  while (!existsSync(join(dir, 'ready'))) {
    if (exited !== null) throw new Error(`the cluster script ended early with ${exited}`);
    if (Date.now() > deadline) throw new Error('the cluster was not ready in 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const pids = Object.fromEntries(readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n')
    .map((line) => line.split(' ')).map(([pid, name]) => [name, Number(pid)]));
  return {
    base: `http://127.0.0.1:${port}`,
    pids,
    stop: () => new Promise((resolve) => {
      if (exited !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGINT');
    }),
  };
}

/** Debian's Chromium, headless, with the flags that work on these machines. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** One server and one browser for a whole test file, started before and stopped after it. */
export function useServerAndBrowser(serverOptions = {}) {
  const env = {};
  before(async () => {
    env.server = await startServer(serverOptions);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/** A new browser context on the app's start page, with page errors echoed to the test log. */
export async function openPage(env, who, viewport = { width: 900, height: 800 }) {
  const context = await env.browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${who}] page error:`, e));
  await page.goto(env.server.base);
  return page;
}

/** Signs in as a guest with a nickname. */
export async function signInAsGuest(page, nickname) {
  await page.getByTestId('nickname-input').fill(nickname);
  await page.getByTestId('login-button').click();
  await page.getByTestId('me').filter({ hasText: nickname }).waitFor();
  return page;
}

/** Types a message and sends it. */
export async function say(page, text) {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('send-button').click();
}

/** `api(path, token, body, method = 'POST')` against the test's server: the JSON answer (null for
 * 204); anything but a 2xx fails the test with the status and body. */
export function apiOf(env) {
  return async (path, token, body, method = 'POST') => {
    const resp = await fetch(`${env.server.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${await resp.clone().text()}`);
    return resp.status === 204 ? null : resp.json();
  };
}
