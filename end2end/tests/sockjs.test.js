// The seed's client, unchanged: `new SockJS('/ws-chat?token=…')` under @stomp/stompjs. In Node,
// sockjs-client is forced onto each transport in turn (websocket, xhr-streaming, xhr-polling,
// eventsource); in Chromium, with WebSocket taken away, it falls back to xhr-streaming by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client } from '@stomp/stompjs';
import SockJS from 'sockjs-client';
import { startServer, launchBrowser, ARTIFACTS } from './support.js';
import { inbox, post as postTo } from './stomp-client.js';

/** A browser bundle from node_modules. */
const bundle = (path) => fileURLToPath(new URL(`../node_modules/${path}`, import.meta.url));
let server;
before(async () => {
  server = await startServer({ env: { DUNGEONTALK_STOMP_HEARTBEAT_MS: '300' } });
});
after(async () => server?.stop());

const post = (path, body, token) => postTo(server.base, path, body, token);

/** A stompjs client over a SockJS socket restricted to one transport, once CONNECTED. */
function connect(token, transport) {
  const log = [];
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new SockJS(`${server.base}/ws-chat?token=${token}`, null, { transports: [transport] }),
      reconnectDelay: 0,
      heartbeatIncoming: 300,
      heartbeatOutgoing: 300,
      debug: (line) => log.push(line),
      onConnect: () => resolve({ client, log }),
      onStompError: (frame) => reject(new Error(`ERROR ${frame.headers.message}`)),
      onWebSocketClose: (e) => reject(new Error(`closed ${e.code} ${e.reason}`)),
    });
    client.activate();
  });
}

for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
  test(`the seed's flow over SockJS ${transport}; errors reach /user/queue/errors; heart-beats flow`, async () => {
    const aria = await post('/api/auth/guest', { nickname: 'Aria' });
    const bo = await post('/api/auth/guest', { nickname: 'Bo' });
    const { roomId } = await post('/api/rooms', { name: `Inn ${transport}`, maxCapacity: 0 }, aria.accessToken);
    const a = await connect(aria.accessToken, transport);
    assert.equal(a.client.webSocket.transport, transport, 'sockjs-client used the transport asked for');
    const b = await connect(bo.accessToken, transport);
    const aRoom = inbox(a.client, `/sub/chat/room/${roomId}`);
    const bRoom = inbox(b.client, `/sub/chat/room/${roomId}`);
    const errors = inbox(a.client, '/user/queue/errors');
    const send = (c, body) => c.publish({ destination: '/pub/chat/send', body: JSON.stringify(body) });
    send(a.client, { type: 'TALK', roomId, content: 'too early' });
    assert.equal((await errors.next(() => true)).code, 'room.not_joined');
    send(a.client, { type: 'JOIN', roomId, senderId: 'not-me', content: 'Aria joined.' });
    send(b.client, { type: 'JOIN', roomId, senderId: 'not-me', content: 'Bo joined.' });
    await bRoom.next((e) => e.type === 'JOIN' && e.memberId === aria.memberId);
    send(a.client, { type: 'TALK', roomId, senderId: bo.memberId, content: `over ${transport} ✓ "quoted" \u2028` });
    const heard = await bRoom.next((e) => e.type === 'TALK');
    assert.equal(heard.content, `over ${transport} ✓ "quoted" \u2028`);
    assert.equal(heard.senderId, aria.memberId, 'identity comes from the token, not senderId');
    assert.equal((await aRoom.next((e) => e.type === 'TALK')).seq, heard.seq);
    // Quiet for a second and a half: heart-beats go both ways and nobody hangs up.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.ok(a.log.some((l) => l.includes('<<< PONG')), 'the server sent heart-beats');
    assert.ok(a.log.some((l) => l.includes('>>> PING')), 'the client sent heart-beats');
    assert.equal(a.client.connected, true);
    send(b.client, { type: 'LEAVE', roomId });
    await aRoom.next((e) => e.type === 'LEAVE' && e.memberId === bo.memberId);
    await a.client.deactivate();
    await b.client.deactivate();
  });
}

test('in Chromium with WebSocket blocked, sockjs-client falls back to xhr-streaming', async () => {
  const cleo = await post('/api/auth/guest', { nickname: 'Cleo' });
  const { roomId } = await post('/api/rooms', { name: 'No Sockets', maxCapacity: 0 }, cleo.accessToken);
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    // As a proxy or a locked-down browser would: no WebSocket at all.
    await page.addInitScript(() => {
      delete window.WebSocket;
      window.WebSocket = undefined;
    });
    await page.goto(`${server.base}/healthz`);
    await page.addScriptTag({ path: bundle('sockjs-client/dist/sockjs.min.js') });
    await page.addScriptTag({ path: bundle('@stomp/stompjs/bundles/stomp.umd.min.js') });
    const got = await page.evaluate(async ({ token, roomId }) => {
      const socket = new SockJS(`/ws-chat?token=${token}`);
      const client = StompJs.Stomp.over(socket);
      client.debug = () => {};
      await new Promise((resolve, reject) => client.connect({}, resolve, reject));
      const seen = [];
      const errors = [];
      client.subscribe(`/sub/chat/room/${roomId}`, (m) => seen.push(JSON.parse(m.body)));
      client.subscribe('/user/queue/errors', (m) => errors.push(JSON.parse(m.body)));
      const send = (body) => client.send('/pub/chat/send', {}, JSON.stringify(body));
      send({ type: 'JOIN', roomId, content: 'Cleo joined.' });
      send({ type: 'TALK', roomId, content: 'no sockets needed' });
      send({ type: 'TALK', roomId, content: '' });
      const deadline = Date.now() + 10_000;
      while ((!seen.some((e) => e.type === 'TALK') || errors.length === 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const transport = socket.transport;
      await new Promise((r) => client.disconnect(r));
      return { transport, talks: seen.filter((e) => e.type === 'TALK').map((e) => e.content), errors };
    }, { token: cleo.accessToken, roomId });
    assert.equal(got.transport, 'xhr-streaming');
    assert.deepEqual(got.talks, ['no sockets needed']);
    assert.equal(got.errors[0]?.code, 'chat.empty');
    await page.screenshot({ path: `${ARTIFACTS}/sockjs-no-websocket.png` });
  } finally {
    await browser.close();
  }
});
