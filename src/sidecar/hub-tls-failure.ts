/**
 * The TLS part of a failed connection to the hub, said with what to check. grpc-js reports a
 * failed handshake as UNAVAILABLE, like a hub that is down; these failures are not outages but
 * a configuration the two sides do not agree on, and retrying will not mend them.
 */

const TLS_ERROR = /ERR_TLS_|SSL routines|certificate|self[- ]signed|unable to (get|verify)|alert|secure TLS connection/i;

/** What to check, for each kind of handshake failure. */
const HINTS: ReadonlyArray<[RegExp, string]> = [
  [/ALTNAME|altnames/i, "the hub's certificate does not carry the name dialed: set hub_tls.server_name to a name it carries, or dial one it carries"],
  [/alert (certificate required|bad certificate|unknown ca|certificate unknown|handshake failure)/i, "the hub refused this sidecar's client certificate: set hub_tls.cert_file and hub_tls.key_file to one the hub's tls.client_ca_file signed"],
  [/expired|not yet valid/i, 'a certificate is outside its validity period: renew it'],
  [/wrong version number|before secure TLS connection/i, 'the hub does not speak TLS on this port: set tls.cert_file on the hub, or turn hub_tls off'],
  [/./, "the hub's certificate does not chain to hub_tls.ca_file (or to the system CAs when it is empty)"],
];

/** The failure and a hint, or undefined when `reason` is not about TLS. */
export function hubTlsFailure(reason: string): string | undefined {
  // grpc-js: "UNAVAILABLE: No connection established. Last error: <error> (<time>). Resolution note: ..."
  const last = /Last error: ([\s\S]*?)\s*(\(\d{4}-\d\d-\d\dT[^)]*\))?\.?\s*(Resolution note:[\s\S]*)?$/.exec(reason);
  const detail = (last?.[1] ?? reason).replace(/\s+/g, ' ').trim();
  if (!TLS_ERROR.test(detail)) return undefined;
  const hint = HINTS.find(([pattern]) => pattern.test(detail))![1];
  return `${detail}; ${hint}`;
}
