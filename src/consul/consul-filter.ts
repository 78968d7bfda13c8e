/**
 * The subset of Consul's `filter` expressions the hub evaluates on health and catalog reads:
 * terms joined by `and`, each `<Selector> == "v"`, `<Selector> != "v"`, `"v" in <Selector>` or
 * `"v" not in <Selector>`, over Service.ID, Service.Service, Service.Address, Service.Port,
 * Service.Tags, Service.Meta.<key>, Node.Node and Node.Address (catalog reads may also spell
 * them ServiceID, ServiceName, ServiceAddress, ServicePort, ServiceTags, ServiceMeta.<key>).
 * Anything else is refused with 400 naming what is allowed.
 */
import type { Instance } from '../registry/model.js';
import { badRequest } from './consul-errors.js';
import { tagsOf, userMeta } from './consul-metadata.js';

export type InstanceFilter = (inst: Instance) => boolean;

const SELECTORS = 'Service.ID, Service.Service, Service.Address, Service.Port, Service.Tags, Service.Meta.<key>, Node.Node, Node.Address';
const ALIASES: Record<string, string> = { ServiceID: 'Service.ID', ServiceName: 'Service.Service', ServiceAddress: 'Service.Address', ServicePort: 'Service.Port', ServiceTags: 'Service.Tags', Node: 'Node.Node', Address: 'Node.Address' };

function selector(raw: string): (inst: Instance) => string | string[] {
  const name = raw.startsWith('ServiceMeta.') ? `Service.Meta.${raw.slice('ServiceMeta.'.length)}` : (ALIASES[raw] ?? raw);
  if (name.startsWith('Service.Meta.') && name.length > 'Service.Meta.'.length) {
    const key = name.slice('Service.Meta.'.length);
    return (inst) => userMeta(inst)[key] ?? '';
  }
  switch (name) {
    case 'Service.ID':
      return (inst) => inst.id;
    case 'Service.Service':
      return (inst) => inst.service;
    case 'Service.Address':
    case 'Node.Node':
    case 'Node.Address':
      return (inst) => inst.address;
    case 'Service.Port':
      return (inst) => String(inst.port);
    case 'Service.Tags':
      return (inst) => tagsOf(inst);
    default:
      throw badRequest(`Failed to create boolean expression evaluator: unknown selector ${JSON.stringify(raw)}; the hub supports ${SELECTORS}`);
  }
}

const EQUALITY = /^([A-Za-z][\w.-]*)\s*(==|!=)\s*"((?:[^"\\]|\\.)*)"$/;
const MEMBERSHIP = /^"((?:[^"\\]|\\.)*)"\s+(in|not in)\s+([A-Za-z][\w.-]*)$/;

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function term(text: string): InstanceFilter {
  const eq = EQUALITY.exec(text);
  if (eq !== null) {
    const get = selector(eq[1]!);
    const value = unquote(eq[3]!);
    const want = eq[2] === '==';
    return (inst) => {
      const v = get(inst);
      return (Array.isArray(v) ? v.includes(value) : v === value) === want;
    };
  }
  const m = MEMBERSHIP.exec(text);
  if (m !== null) {
    const get = selector(m[3]!);
    const value = unquote(m[1]!);
    const want = m[2] === 'in';
    return (inst) => {
      const v = get(inst);
      return (Array.isArray(v) ? v.includes(value) : v.includes(value)) === want;
    };
  }
  throw badRequest(`Failed to create boolean expression evaluator: ${JSON.stringify(text.slice(0, 120))} is not supported; the hub takes terms joined by "and", each <Selector> == "v", <Selector> != "v", "v" in <Selector> or "v" not in <Selector>, over ${SELECTORS}`);
}

/** The filter of a `filter` query parameter; undefined when there is none. */
export function parseFilter(expression: string | null): InstanceFilter | undefined {
  if (expression === null || expression.trim() === '') return undefined;
  if (expression.length > 2048) throw badRequest('filter: must be at most 2048 characters');
  const terms = expression.split(/\s+and\s+/).map((t) => term(t.trim()));
  return (inst) => terms.every((t) => t(inst));
}
