// The dashboards' calls to their server. A token, when one is needed, is kept in this tab's
// sessionStorage and sent in the Authorization header, never in a URL. Server-Sent Events are
// read with fetch() and a stream reader rather than EventSource, which cannot send headers.

const TOKEN_KEY = 'outrigger.token';

export const tokenStore = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx, with the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const token = tokenStore.get();
  return token !== undefined ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function failure(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = body?.error ?? {};
  return new ApiError(res.status, e.code ?? String(res.status), e.message ?? res.statusText);
}

/** A JSON call; resolves with `data` of the answer, rejects with an ApiError. */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    cache: 'no-store',
  });
  if (!res.ok) throw await failure(res);
  const json = await res.json();
  return json.data ?? json;
}

/**
 * Reads a Server-Sent Events stream until it ends or `signal` aborts; calls onEvent(name, data)
 * for each event. Rejects with an ApiError when the server refuses the stream.
 */
export async function streamEvents(path, onEvent, signal) {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store', signal });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}
