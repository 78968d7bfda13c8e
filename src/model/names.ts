/**
 * Names, Cloud Map style: a service is a DNS label, a namespace a DNS name, and
 * `<service>.<namespace>` is the xDS cluster name, the proxyless listener name and the routing key.
 */
import { z } from 'zod';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

export function isDnsName(s: string): boolean {
  return s.length <= 253 && s.split('.').every((l) => LABEL.test(l));
}

export function isHostname(s: string): boolean {
  return s.length <= 253 && s.split('.').every((l) => HOST_LABEL.test(l));
}

export const serviceNameSchema = z
  .string({ error: 'must be a string' })
  .refine(isDnsLabel, { error: 'must be a DNS label: 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit' });

export const namespaceNameSchema = z
  .string({ error: 'must be a string' })
  .refine(isDnsName, { error: 'must be a DNS name: dot-separated DNS labels (lowercase letters, digits, "-"), at most 253 characters' });

/** `<service>.<namespace>`: the xDS cluster name, the proxyless listener name and the routing key. */
export function serviceKey(service: string, namespace: string): string {
  return `${service}.${namespace}`;
}

/** Splits `worker.secure-api.local` into service `worker` and namespace `secure-api.local`. */
export function splitServiceKey(key: string): { service: string; namespace: string } | undefined {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return undefined;
  return { service: key.slice(0, dot), namespace: key.slice(dot + 1) };
}

/**
 * The short-name rule, the one place it is written: a name without a dot (`worker`) is a service
 * in `namespace`, as Kubernetes resolves a short Service name; a dotted one is already
 * `<service>.<namespace>`.
 */
export function qualifiedServiceName(name: string, namespace: string): string {
  return name.includes('.') ? name : serviceKey(name, namespace);
}
