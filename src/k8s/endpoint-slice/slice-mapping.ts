import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Health } from '../../model/health.js';
import { isDnsLabel } from '../../model/names.js';
import type { Protocol } from '../../model/protocol.js';
import type { Instance } from '../../registry/model.js';
import { LIMITS } from '../../registry/validation.js';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** An instance the source wants in the registry: the registration fields it sets. */
export type DesiredInstance = Pick<Instance, 'id' | 'namespace' | 'service' | 'address' | 'port' | 'protocol' | 'zone' | 'health' | 'metadata'>;

/** What the source keeps of one EndpointSlice. */
export interface SliceView {
  /** `<k8s namespace>/<slice name>`. */
  readonly key: string;
  /** Registry namespace and service this slice feeds, or undefined when it feeds none. */
  readonly namespace: string;
  readonly service: string | undefined;
  readonly instances: readonly DesiredInstance[];
}

interface EndpointConditions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `<namespace>/<name>` of a Kubernetes object, or undefined when its metadata lacks them. */
export function objectKey(object: unknown): string | undefined {
  const meta = record(record(object)?.['metadata']);
  const ns = str(meta?.['namespace']);
  const name = str(meta?.['name']);
  return ns === undefined || name === undefined ? undefined : `${ns}/${name}`;
}

/**
 * Endpoint conditions → health. Terminating is looked at first because a Service with
 * publishNotReadyAddresses reports terminating endpoints as ready:
 * - terminating and serving (or serving unknown) → DRAINING: finishing its work, no new requests;
 * - terminating and not serving → UNHEALTHY;
 * - ready, or ready unknown (the API says to read an unknown as ready) → HEALTHY;
 * - not ready → UNHEALTHY.
 */
export function healthOf(conditions: EndpointConditions): Health {
  if (conditions.terminating === true) return conditions.serving === false ? 'UNHEALTHY' : 'DRAINING';
  return conditions.ready === false ? 'UNHEALTHY' : 'HEALTHY';
}

const APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  grpc: 'grpc',
  http2: 'http2',
  h2c: 'http2',
  'kubernetes.io/h2c': 'http2',
  http: 'http',
  'kubernetes.io/ws': 'http',
  tcp: 'tcp',
  https: 'tcp',
  'kubernetes.io/wss': 'tcp',
};

/**
 * A port's protocol: its appProtocol when set and known, else its name's first dash-separated
 * word (Istio's naming convention: `grpc`, `grpc-web`, `http2-api`, `h2c`, `http-admin`). TLS
 * (`https`) is proxied as opaque TCP. An unnamed port is taken as http (the registry's default,
 * and what a single-port Service usually serves); any other name (`redis`, `postgres`, `tcp-x`)
 * is tcp, so the proxy never parses a protocol it does not know as HTTP.
 */
export function protocolOf(name: string, appProtocol: string | undefined): Protocol {
  const fromApp = appProtocol === undefined ? undefined : APP_PROTOCOLS[appProtocol.toLowerCase()];
  if (fromApp !== undefined) return fromApp;
  if (name === '') return 'http';
  const word = name.toLowerCase().split('-')[0]!;
  return APP_PROTOCOLS[word] ?? 'tcp';
}

const TAG = /^[A-Za-z0-9._+-]{0,64}$/;
/** Keeps a zone the registry accepts; anything else becomes '' rather than refusing the endpoint. */
function zoneTag(zone: string | undefined): string {
  return zone !== undefined && TAG.test(zone) ? zone : '';
}

function sliceServiceName(meta: Record<string, unknown> | undefined): string | undefined {
  const name = str(record(meta?.['labels'])?.[SERVICE_NAME_LABEL]);
  return name !== undefined && isDnsLabel(name) ? name : undefined;
}

/**
 * The id of an instance without a Pod behind it: derived from the Service (not the slice, since
 * the controller moves endpoints between slices of one Service), the address and the port name,
 * hashed when the readable form would exceed the registry's id limit.
 */
function derivedId(k8sNamespace: string, service: string, address: string, portName: string): string {
  const readable = `${k8sNamespace}.${service}.${address}${portName === '' ? '' : `.${portName}`}`;
  if (readable.length <= LIMITS.idLength && /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(readable)) return readable;
  return `k8s-${createHash('sha256').update(readable).digest('hex').slice(0, 40)}`;
}

/**
 * Maps an EndpointSlice (as JSON from the API server) to the instances it describes: one per
 * (endpoint address, port) of an IPv4 or IPv6 slice, in the registry namespace `<k8s namespace>.<suffix>`
 * and the service named by the slice's `kubernetes.io/service-name` label. Returns undefined for
 * an object without namespace and name; a slice that feeds nothing (FQDN addresses, no service
 * label, UDP-only ports) has no instances.
 */
export function mapSlice(object: unknown, namespaceSuffix: string): SliceView | undefined {
  const key = objectKey(object);
  if (key === undefined) return undefined;
  const slice = record(object)!;
  const meta = record(slice['metadata']);
  const k8sNamespace = key.slice(0, key.indexOf('/'));
  const namespace = `${k8sNamespace}.${namespaceSuffix}`;
  const service = sliceServiceName(meta);
  const addressType = str(slice['addressType']);
  if (service === undefined || (addressType !== 'IPv4' && addressType !== 'IPv6')) {
    return { key, namespace, service, instances: [] };
  }
  const ports = list(slice['ports'])
    .map(record)
    .filter((p): p is Record<string, unknown> => p !== undefined)
    .filter((p) => (str(p['protocol']) ?? 'TCP') === 'TCP' && typeof p['port'] === 'number' && p['port'] >= 1 && p['port'] <= 65535)
    .map((p) => ({ name: str(p['name']) ?? '', port: p['port'] as number, protocol: protocolOf(str(p['name']) ?? '', str(p['appProtocol'])) }));
  const manyPorts = ports.length > 1;
  const instances: DesiredInstance[] = [];
  for (const endpoint of list(slice['endpoints']).map(record)) {
    if (endpoint === undefined) continue;
    const conditions = record(endpoint['conditions']) ?? {};
    const health = healthOf({ ready: bool(conditions['ready']), serving: bool(conditions['serving']), terminating: bool(conditions['terminating']) });
    const targetRef = record(endpoint['targetRef']);
    const podUid = str(targetRef?.['kind']) === 'Pod' ? str(targetRef?.['uid']) : undefined;
    const podName = str(targetRef?.['kind']) === 'Pod' ? str(targetRef?.['name']) : undefined;
    const nodeName = str(endpoint['nodeName']);
    const hintZones = list(record(endpoint['hints'])?.['forZones'])
      .map((z) => str(record(z)?.['name']))
      .filter((z): z is string => z !== undefined);
    const zone = zoneTag(str(endpoint['zone']));
    // The API says an endpoint's addresses are fungible and consumers may use only the first.
    const address = list(endpoint['addresses'])[0];
    if (typeof address !== 'string' || isIP(address) === 0) continue;
    {
      for (const port of ports) {
        const metadata: Record<string, string> = { 'k8s.namespace': k8sNamespace };
        if (podName !== undefined) metadata['k8s.pod_name'] = podName;
        if (nodeName !== undefined) metadata['k8s.node_name'] = nodeName;
        if (port.name !== '') metadata['k8s.port_name'] = port.name;
        if (hintZones.length > 0) metadata['k8s.hints.for_zones'] = hintZones.join(',');
        const id =
          podUid !== undefined && /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(podUid)
            ? manyPorts ? `${podUid}:${port.name}` : podUid
            : derivedId(k8sNamespace, service, address, manyPorts ? port.name : '');
        instances.push({ id, namespace, service, address, port: port.port, protocol: port.protocol, zone, health, metadata });
      }
    }
  }
  return { key, namespace, service, instances };
}
