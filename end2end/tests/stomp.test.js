// The original client's library, unchanged: @stomp/stompjs (over the `ws` package, as Node has no
// browser WebSocket) against /ws-chat, doing what the seed's client does (§4.2.4): connect with
// the token, subscribe to the room and to /user/queue/errors, JOIN, TALK, LEAVE, disconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { startServer } from './support.js';
import { inbox, post as postTo } from './stomp-client.js';

let server;
before(async () => {
  server = await startServer({ env: { DUNGEONTALK_STOMP_HEARTBEAT_MS: '300' } });
});
after(async () => server?.stop());

const post = (path, body, token) => postTo(server.base, path, body, token);
const guest = (nickname) => post('/api/auth/guest', { nickname });

/** A connected stompjs client (heart-beats every 300 ms both ways) and a log of its debug lines. */
function connect(token) {
  const log = [];
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () =>
        new WebSocket(`${server.base.replace('http', 'ws')}/ws-chat?token=${token}`, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      reconnectDelay: 0,
      heartbeatIncoming: 300,
      heartbeatOutgoing: 300,
      debug: (line) => log.push(line),
      onConnect: (frame) => resolve({ client, frame, log }),
      onStompError: (frame) => reject(new Error(`ERROR ${frame.headers.message}`)),
      onWebSocketError: (e) => reject(e),
    });
    client.activate();
  });
}

test("the seed's client flow: connect, subscribe, JOIN, TALK, receive, LEAVE, disconnect", async () => {
  const aria = await guest('Aria');
  const bo = await guest('Bo');
  const { roomId } = await post('/api/rooms', { name: 'Old Client Inn', maxCapacity: 0 }, aria.accessToken);
  const a = await connect(aria.accessToken);
  assert.equal(a.frame.headers.version, '1.2');
  const b = await connect(bo.accessToken);
  const aRoom = inbox(a.client, `/sub/chat/room/${roomId}`);
  const bRoom = inbox(b.client, `/sub/chat/room/${roomId}`);
  inbox(a.client, '/user/queue/errors');
  const send = (c, body) => c.publish({ destination: '/pub/chat/send', body: JSON.stringify(body) });
  send(a.client, { type: 'JOIN', roomId, senderId: 'not-me', content: 'Aria joined.' });
  send(b.client, { type: 'JOIN', roomId, senderId: 'not-me', content: 'Bo joined.' });
  await bRoom.next((e) => e.type === 'JOIN' && e.memberId === aria.memberId);
  send(a.client, { type: 'TALK', roomId, senderId: bo.memberId, content: 'Who goes there?', timestamp: new Date().toISOString() });
  const heard = await bRoom.next((e) => e.type === 'TALK');
  assert.equal(heard.content, 'Who goes there?');
  assert.equal(heard.senderId, aria.memberId, 'identity comes from the token, not senderId');
  const echo = await aRoom.next((e) => e.type === 'TALK');
  assert.equal(echo.seq, heard.seq);
  send(b.client, { type: 'LEAVE', roomId, senderId: bo.memberId });
  await aRoom.next((e) => e.type === 'LEAVE' && e.memberId === bo.memberId);
  await a.client.deactivate();
  await b.client.deactivate();
});

test('an error reaches /user/queue/errors and the connection survives; heart-beats flow', async () => {
  const cleo = await guest('Cleo');
  const { roomId } = await post('/api/rooms', { name: 'Quiet Corner', maxCapacity: 0 }, cleo.accessToken);
  const c = await connect(cleo.accessToken);
  const errors = inbox(c.client, '/user/queue/errors');
  const room = inbox(c.client, `/sub/chat/room/${roomId}`);
  const send = (body) => c.client.publish({ destination: '/pub/chat/send', body: JSON.stringify(body) });
  // Talking before joining: refused, on the errors queue.
  send({ type: 'TALK', roomId, content: 'anyone?' });
  const refused = await errors.next(() => true);
  assert.equal(refused.code, 'room.not_joined');
  assert.ok(refused.message.length > 0);
  // The same connection goes on.
  send({ type: 'JOIN', roomId });
  send({ type: 'TALK', roomId, content: 'now I may speak' });
  assert.equal((await room.next((e) => e.type === 'TALK')).content, 'now I may speak');
  // Quiet for two seconds: heart-beats go both ways (stompjs logs each) and nobody hangs up.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.ok(c.log.some((l) => l.includes('<<< PONG')), 'the server sent heart-beats');
  assert.ok(c.log.some((l) => l.includes('>>> PING')), 'the client sent heart-beats');
  assert.equal(c.client.connected, true);
  await c.client.deactivate();
});
