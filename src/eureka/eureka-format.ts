/**
 * JSON and XML, as Eureka clients send and read them. Both are the same tree: Jackson's JSON
 * writes an element's attributes as `@name` members and its text as `$`, so the XML here is built
 * from (and parsed into) that tree with `fast-xml-parser` told the same conventions. A client
 * gets XML when its Accept header asks for XML and not JSON; JSON otherwise.
 */
import type http from 'node:http';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { OutriggerError } from '../common/errors.js';
import { parseJson } from '../http/body.js';

export type Format = 'json' | 'xml';

const TREE = { ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '$' } as const;
const builder = new XMLBuilder({ ...TREE, suppressEmptyNode: false, suppressBooleanAttributes: false });
// Values stay strings, as XML has no types; the mappings read numbers from strings.
const parser = new XMLParser({ ...TREE, parseTagValue: false, parseAttributeValue: false, processEntities: true });

export function responseFormat(req: http.IncomingMessage): Format {
  const accept = (req.headers.accept ?? '').toLowerCase();
  return accept.includes('xml') && !accept.includes('json') ? 'xml' : 'json';
}

export function render(format: Format, body: Record<string, unknown>): { text: string; contentType: string } {
  if (format === 'json') return { text: JSON.stringify(body), contentType: 'application/json' };
  return { text: `<?xml version="1.0" encoding="UTF-8"?>${builder.build(body) as string}`, contentType: 'application/xml' };
}

/** A request body in either format; an empty body is undefined. */
export function parseBody(req: http.IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return parseJson(raw);
  if (type === 'application/xml' || type === 'text/xml') {
    try {
      // `true`: validate first, so a malformed document is refused rather than half read.
      return parser.parse(raw.toString('utf8'), true) as unknown;
    } catch (err) {
      throw new OutriggerError('invalid_argument', `body: not well-formed XML: ${err instanceof Error ? err.message : String(err)}`, 'body');
    }
  }
  throw new OutriggerError('unsupported_media_type', `content-type: the body must be application/json or application/xml, got ${JSON.stringify(req.headers['content-type'] ?? 'none')}`, 'content-type');
}
