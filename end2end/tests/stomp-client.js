// What the STOMP tests share: the REST calls a client makes before it connects, and an inbox per
// subscription that a test can wait on.

/** `POST` JSON to the server, with a token if given; the parsed answer. */
export async function post(base, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return resp.json();
}

/** Messages of a subscription, parsed, and a way to wait for the next that matches. */
export function inbox(client, destination) {
  const got = [];
  const waiting = [];
  client.subscribe(destination, (m) => {
    got.push(JSON.parse(m.body));
    for (const w of waiting.splice(0)) w();
  });
  const next = async (match, ms = 10_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = got.findIndex(match);
      if (i >= 0) return got.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`nothing matched on ${destination}: ${JSON.stringify(got)}`);
      await new Promise((r) => {
        waiting.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { next };
}
