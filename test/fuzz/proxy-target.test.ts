/**
 * Fuzzing the sidecar's outbound proxy from outside, with raw bytes on its listening socket: the
 * request target (absolute and origin form), the Host header and CONNECT authorities, with
 * header injection attempts, odd schemes, userinfo, ports, brackets and encodings. The sidecar
 * runs against a real hub with passthrough off, so the one place a request may go is
 * `echo.demo.local`, and only when the target names it.
 *
 * For every request: an answer (or, for bytes that are not HTTP/1.x, a closed connection) within
 * the bound; a 5xx only as the proxy's own error with a catalogue code in x-outrigger-error; the
 * echo backend reached only by a request whose target a standard URL parser (WHATWG, as apps
 * use to check a URL before they send it) reads as echo; the backend outside every service
 * never reached; a CR or LF inside a target never turning into a header upstream.
 */
import test from 'ava';
import fc from 'fast-check';
import { ERROR_KINDS } from '../../src/common/errors.js';
import { isDnsLabel, isDnsName } from '../../src/model/names.js';
import { check, fuzz, nastyString, Tally } from '../helpers/fuzz.js';
import { rawExchange, startFuzzMesh, type FuzzMesh, type RawAnswer } from '../helpers/fuzz-mesh.js';

const ANSWER_BOUND_MS = 5000;

let mesh: FuzzMesh;

const ECHO = new Set(['echo', 'echo.demo.local', 'echo.demo.local.']);
const KNOWN = new Set([...ECHO, 'idle.demo.local', 'localhost']);

/** Hosts every run tries: names of the mesh (known and not), addresses, and URL-parser differentials. */
const HOSTS = ['echo', 'echo.demo.local', 'ECHO.Demo.Local', 'echo.demo.local.', 'idle.demo.local', 'nope.demo.local', 'nope', 'api.other.local', 'localhost', '127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '0', '2130706433'];
const TRICKY_HOSTS = ['[echo.demo.local]', 'echo%2edemo.local', 'echo.demo.local@127.0.0.1', 'evil?@echo.demo.local', 'evil\\@echo.demo.local', 'evil#@echo.demo.local', 'evil@echo.demo.local', 'echo.demo.local:80@evil', 'echo .demo.local', 'échο.demo.local', 'xn--echo.demo.local'];
const PORTS = [':80', ':8080', ':0', ':65535', ':65536', ':-1', ':', ':abc', ':80:80', ':99999999999'];

/**
 * The mesh names `text` might stand for, read any way the proxy might split it (userinfo, port,
 * brackets, path). A name the hub has never heard of waits out the sidecar's ensure bound (10 s,
 * so that a service registered meanwhile is found) before its 502, and again each time the
 * proxy's 5 s memory of unknown names lapses: the fuzzer keeps to names the hub holds as
 * services without instances (503 at once), so each case stays short.
 */
function meshNamesIn(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[@:[\]/?#\\\s]/)
    .map((p) => (p.endsWith('.') ? p.slice(0, -1) : p))
    .filter((p) => p !== '' && !KNOWN.has(p))
    .map((p) => (p.includes('.') ? p : `${p}.demo.local`))
    .filter((name) => {
      const dot = name.indexOf('.');
      return isDnsLabel(name.slice(0, dot)) && isDnsName(name.slice(dot + 1));
    });
}

/** Mesh names that are services without instances at the hub (filled before the run). */
const emptyServices = new Set<string>();

test.before(async () => {
  mesh = await startFuzzMesh();
  for (const name of new Set([...HOSTS, ...TRICKY_HOSTS, ...PORTS, `:${mesh.outsider.port}`].flatMap(meshNamesIn))) {
    const dot = name.indexOf('.');
    mesh.hub.hub.registry.putService(name.slice(dot + 1), name.slice(0, dot));
    emptyServices.add(name);
  }
});

test.after.always(async () => {
  await mesh?.close();
});

/** Would an app's URL check (WHATWG URL) say this URL is for echo? */
function whatwgHostIsEcho(url: string): boolean {
  try {
    return ECHO.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Text as the request carries it: written as latin1, one byte per character (U+8740 goes as "@"). */
const asSent = (text: string): string => Buffer.from(text, 'latin1').toString('latin1');

const host = fc
  .oneof({ weight: 6, arbitrary: fc.constantFrom(...HOSTS) }, { weight: 1, arbitrary: fc.constantFrom(...TRICKY_HOSTS) }, { weight: 2, arbitrary: nastyString })
  .map(asSent)
  .map((h) => (meshNamesIn(h).every((n) => emptyServices.has(n)) ? h : 'nope.demo.local'));

const port = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom(...PORTS) },
  { weight: 1, arbitrary: fc.constant('OUTSIDER') },
);

/**
 * Text that would become header lines if a CR or LF in a target were taken at its word. (Text
 * that completes the request line first, ` HTTP/1.1\r\nX-Injected: 1`, is a header the client
 * sent: no proxy can tell it apart.)
 */
const INJECTIONS = ['\r\nX-Injected: 1', '\nX-Injected: 1', '\rX-Injected: 1', '%0d%0aX-Injected:%201', '\r\n\r\nGET /smuggled HTTP/1.1\r\nX-Injected: 1'];

const path = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom('/', '/ready', '/a/b?c=d', '', '/%', '/%zz', '/..%2f..', '/a b', '/\u00ff') },
    { weight: 1, arbitrary: fc.constantFrom(...INJECTIONS).map((i) => `/x${i}`) },
    { weight: 1, arbitrary: nastyString.map((s) => `/${s}`) },
  )
  .map(asSent);

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'BREW', 'get', ''] as const;

const requestCase = fc.record({
  form: fc.constantFrom('absolute', 'origin', 'connect'),
  scheme: fc.oneof({ weight: 6, arbitrary: fc.constant('http://') }, { weight: 1, arbitrary: fc.constantFrom('HTTP://', 'https://', 'ftp://', 'http:/', 'http:', '//', 'http:\\\\') }),
  method: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
  host,
  port,
  path,
  hostHeader: fc.oneof(
    { weight: 3, arbitrary: fc.constant('same') },
    { weight: 1, arbitrary: fc.constant('none') },
    { weight: 1, arbitrary: fc.constant('two') },
    { weight: 2, arbitrary: host },
  ),
  version: fc.oneof({ weight: 8, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 extra', '', 'http/1.1') }),
  extra: fc.constantFrom('', 'Connection: Upgrade\r\nUpgrade: websocket\r\n', 'Expect: 100-continue\r\n', 'Proxy-Connection: keep-alive\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n'),
});

type RequestCase = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  bytes: Buffer;
  /** What a URL parser says the request is for. */
  mayReachEcho: boolean;
  /** Valid HTTP/1.x framing that must be answered (a parser may close on anything else). */
  wellFormed: boolean;
}

function build(c: RequestCase, caseId: number): Built {
  const portText = c.port === 'OUTSIDER' ? `:${mesh.outsider.port}` : c.port;
  const authority = `${c.host}${portText}`;
  const method = c.method !== '' ? c.method : c.form === 'connect' ? 'CONNECT' : 'GET';
  const target = c.form === 'connect' ? authority : c.form === 'absolute' ? `${c.scheme}${authority}${c.path}` : c.path;
  const hostValue = c.hostHeader === 'same' ? authority : c.hostHeader === 'none' || c.hostHeader === 'two' ? authority : c.hostHeader;
  let head = `${method} ${target}${c.version === '' ? '' : ` ${c.version}`}\r\n`;
  if (c.hostHeader !== 'none') head += `Host: ${hostValue}\r\n`;
  if (c.hostHeader === 'two') head += 'Host: echo.demo.local\r\n';
  head += `x-fuzz-case: ${caseId}\r\n${c.extra}\r\n`;
  const body = c.extra.startsWith('Content-Length') ? 'hello' : c.extra.startsWith('Transfer-Encoding') ? '5\r\nhello\r\n0\r\n\r\n' : '';
  // Where the request says it goes, by the form of its target: an authority for CONNECT, the
  // (first) Host header for a path, the URL itself otherwise.
  const named = method === 'CONNECT' ? `http://${target}/` : target.startsWith('/') ? (c.hostHeader === 'none' ? '' : `http://${hostValue}/`) : target;
  const mayReachEcho = whatwgHostIsEcho(named);
  // Conservatively what node's parser must take: a standard method, a target of RFC 3986 characters
  // in the form the method uses, printable header values, HTTP/1.1 with one Host or HTTP/1.0.
  const targetForm =
    c.form === 'connect' ? method === 'CONNECT' && /^[A-Za-z0-9.\-[\]:]+$/.test(target) : method !== 'CONNECT' && (c.form === 'origin' ? target.startsWith('/') : /^https?:\/\//i.test(target));
  const wellFormed =
    ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT'].includes(method) &&
    targetForm &&
    /^[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%]+$/.test(target) &&
    /^[\x20-\x7e]*$/.test(hostValue) &&
    (c.version === 'HTTP/1.1' || c.version === 'HTTP/1.0') &&
    c.hostHeader !== 'two' &&
    (c.hostHeader !== 'none' || c.version === 'HTTP/1.0') &&
    // node's parser closes on request heads over 16 KiB.
    head.length < 8192;
  return { bytes: Buffer.from(head + body, 'latin1'), mayReachEcho, wellFormed };
}

function checkAnswer(b: Built, a: RawAnswer, what: () => string): void {
  if (a.kind === 'closed') {
    check(!b.wellFormed, () => `a well-formed request got no answer: ${what()}`);
    return;
  }
  if (a.status >= 200 && a.status < 300) check(b.mayReachEcho, () => `${a.status} for a request that names no service: ${what()}`);
  const code = a.headers['x-outrigger-error'];
  if (a.status >= 500) check(code !== undefined, () => `a ${a.status} without x-outrigger-error: ${what()}`);
  if (code !== undefined) {
    check(code in ERROR_KINDS && ERROR_KINDS[code as keyof typeof ERROR_KINDS].http === a.status, () => `x-outrigger-error ${code} with status ${a.status}: ${what()}`);
  }
}

test.serial('raw request targets, Host headers and CONNECT authorities: an answer within the bound, and only echo reached, only when named', async (t) => {
  const tally = new Tally();
  let caseId = 0;
  /** Cases whose target names echo: the only ones echo may ever see, even late. */
  const naming = new Set<string>();
  await fuzz(
    t,
    fc.asyncProperty(requestCase, async (c) => {
      const id = ++caseId;
      const b = build(c, id);
      if (b.mayReachEcho) naming.add(String(id));
      const what = (): string => JSON.stringify(b.bytes.toString('latin1')).slice(0, 600);
      const a = await rawExchange(mesh.addresses.outboundPort, b.bytes, ANSWER_BOUND_MS);
      tally.add(a.kind === 'closed' ? 'closed' : `${Math.floor(a.status / 100)}xx${a.headers['x-outrigger-error'] !== undefined ? ` ${a.headers['x-outrigger-error']}` : ''}`);
      checkAnswer(b, a, what);
      const reached = mesh.echo.received.filter((r) => r.headers['x-fuzz-case'] === String(id));
      check(reached.length === 0 || b.mayReachEcho, () => `echo received ${JSON.stringify(reached)} for a request that does not name it: ${what()}`);
      check(reached.every((r) => !r.headerNames.includes('x-injected')), () => `a CR/LF in the target became a header upstream: ${JSON.stringify(reached)} from ${what()}`);
      // Requests are told apart by their case id. Connections cannot be (the proxy's pools open
      // them when they like), so for CONNECT the check is the 2xx above; the outsider takes none at all.
      check(mesh.outsider.connections === 0, () => `the backend outside every service was reached: ${what()}`);
      tally.add(reached.length > 0 ? 'echo reached' : 'echo not reached');
    }),
    { caseTimeoutMs: ANSWER_BOUND_MS + 1000, averageCaseMs: 40 },
  );
  t.log(tally.toString());
  const strays = mesh.echo.received.filter((r) => r.headers['x-fuzz-case'] !== undefined && Number(r.headers['x-fuzz-case']) <= caseId && !naming.has(String(r.headers['x-fuzz-case'])));
  t.deepEqual(strays, [], 'no request reached echo late for a case that did not name it');
  // The proxy is still up and still routes.
  const a = await rawExchange(mesh.addresses.outboundPort, Buffer.from('GET http://echo.demo.local/after HTTP/1.1\r\nHost: echo.demo.local\r\n\r\n'), ANSWER_BOUND_MS);
  t.like(a, { kind: 'response', status: 200 });
  t.is(mesh.sidecar.phase, 'running');
  t.true(tally.get('echo reached') > 0 && tally.get('echo not reached') > 0, tally.toString());
});

// ---- what the fuzzer found, kept as examples ----

/** One raw request tagged with a fresh case id; the answer and what echo received for it. */
let exampleId = 1_000_000;
async function sendExample(head: string): Promise<{ answer: RawAnswer; echoed: string[] }> {
  const id = ++exampleId;
  const bytes = Buffer.from(head.replace('\r\n\r\n', `\r\nx-fuzz-case: ${id}\r\n\r\n`), 'latin1');
  const answer = await rawExchange(mesh.addresses.outboundPort, bytes, ANSWER_BOUND_MS);
  return { answer, echoed: mesh.echo.received.filter((r) => r.headers['x-fuzz-case'] === String(id)).map((r) => r.url) };
}

test.serial('a CR or LF inside a request target is a 400, never a header upstream (found by fuzzing: it was forwarded as HTTP/0.9 with the header)', async (t) => {
  for (const head of [
    'GET http://echo.demo.local/a\r\nX-Injected: 1\r\nHost: echo.demo.local\r\n\r\n',
    'GET /a\nX-Injected: 1\r\nHost: echo.demo.local\r\n\r\n',
    'GET /a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nHost: echo.demo.local\r\n\r\n',
    'CONNECT echo.demo.local:80\r\nX-Injected: 1\r\nHost: echo.demo.local\r\n\r\n',
  ]) {
    const { answer, echoed } = await sendExample(head);
    t.like(answer, { kind: 'response', status: 400 }, JSON.stringify(head));
    t.deepEqual(echoed, [], JSON.stringify(head));
  }
  t.false(mesh.echo.received.some((r) => r.headerNames.includes('x-injected')));
});

test.serial('an absolute target goes where URL parsers say: its authority ends at "?", and brackets hold only IPv6 (each reached echo before)', async (t) => {
  // `evil` is a service without instances here: 503 says the request went to evil, not to echo.
  const evil = await sendExample('GET http://evil?@echo.demo.local/ HTTP/1.1\r\nHost: echo.demo.local\r\n\r\n');
  t.like(evil.answer, { kind: 'response', status: 503, headers: { 'x-outrigger-error': 'no_healthy_upstream' } });
  t.deepEqual(evil.echoed, []);
  for (const head of ['GET http://[echo.demo.local]/ HTTP/1.1\r\nHost: x\r\n\r\n', 'CONNECT [echo.demo.local]:80 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: [echo.demo.local]\r\n\r\n']) {
    const { answer, echoed } = await sendExample(head);
    t.like(answer, { kind: 'response', status: 502, headers: { 'x-outrigger-error': 'unknown_service' } }, JSON.stringify(head));
    t.deepEqual(echoed, [], JSON.stringify(head));
  }
  // The query right after the authority is the query of "/".
  const query = await sendExample('GET http://echo.demo.local?x=1 HTTP/1.1\r\nHost: echo.demo.local\r\n\r\n');
  t.like(query.answer, { kind: 'response', status: 200 });
  t.deepEqual(query.echoed, ['/?x=1']);
});
