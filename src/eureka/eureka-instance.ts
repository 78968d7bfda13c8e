/**
 * A Eureka instance (`InstanceInfo`) and an Outrigger instance. The registration's address is
 * `ipAddr` (or `hostName` when that is no IP), its port `port.$`; its status becomes health
 * (`eureka-status.ts`), its `leaseInfo` the lease (`eureka-lease.ts`), its metadata the
 * instance's metadata. What only Eureka clients read (host name, VIP addresses, URLs, the secure
 * port, the data center's name) rides in metadata under `eureka.`, so the registry stays the one
 * place an instance lives. An instance registered through another API is shown with defaults
 * derived from what the registry holds (its VIP address is its service name).
 */
import { isIP } from 'node:net';
import type { Instance } from '../registry/model.js';
import { instanceIdSchema, type RegisterInput } from '../registry/validation.js';
import { badInput } from './eureka-errors.js';
import { leaseInfoOf, leaseOf, RENEWAL_KEY } from './eureka-lease.js';
import { appOfService, serviceOfApp } from './eureka-names.js';
import { healthOfStatus, statusOfHealth } from './eureka-status.js';

/** Metadata keys under this prefix hold Eureka's own fields; a client's metadata may not use it. */
export const EUREKA_KEY_PREFIX = 'eureka.';
const STRING_FIELDS = ['hostName', 'vipAddress', 'secureVipAddress', 'homePageUrl', 'statusPageUrl', 'healthCheckUrl'] as const;
const DEFAULT_DATA_CENTER = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function text(v: unknown, field: string, required: boolean): string | undefined {
  if (v === undefined || v === null || v === '') {
    if (required) throw badInput(field, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw badInput(field, `must be a string, got ${JSON.stringify(v).slice(0, 80)}`);
  return String(v);
}

/** A port as JSON sends it (`{"$": 8080, "@enabled": "true"}` or a number) or XML (`"8080"`). */
function portOf(v: unknown, field: string): { port: number | undefined; enabled: boolean } {
  const raw = isObj(v) ? v.$ : v;
  const enabled = isObj(v) ? String(v['@enabled'] ?? 'true') !== 'false' : true;
  if (raw === undefined || raw === null || raw === '') return { port: undefined, enabled: false };
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65_535) throw badInput(`${field}.$`, `must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  return { port: n, enabled };
}

/**
 * The registration of `POST /apps/{APP}` as the registry takes it. `app` (from the path) must
 * match `instance.app` when that is given; the instance id is `instanceId`, or the host name as
 * Eureka's own default.
 */
export function registrationOf(body: unknown, pathApp: string, namespace: string): { input: RegisterInput; id: string } {
  const inst = isObj(body) ? body.instance : undefined;
  if (!isObj(inst)) throw badInput('instance', 'the body must be {"instance": {...}} (JSON) or <instance>...</instance> (XML)');
  const service = serviceOfApp(pathApp);
  const app = text(inst.app, 'instance.app', false);
  if (app !== undefined && serviceOfApp(app, 'instance.app') !== service) throw badInput('instance.app', `must name the application in the path (${pathApp}), got ${JSON.stringify(app)}`);
  const hostName = text(inst.hostName, 'instance.hostName', true)!;
  const ipAddr = text(inst.ipAddr, 'instance.ipAddr', false);
  const id = text(inst.instanceId, 'instance.instanceId', false) ?? hostName;
  if (!instanceIdSchema.safeParse(id).success) throw badInput(inst.instanceId === undefined ? 'instance.hostName' : 'instance.instanceId', `must be an instance id: letters, digits and . _ : @ - (at most 128, starting with a letter or digit), got ${JSON.stringify(id.slice(0, 80))}`);
  const address = ipAddr !== undefined && isIP(ipAddr) !== 0 ? ipAddr : hostName;
  const port = portOf(inst.port, 'instance.port');
  const secure = portOf(inst.securePort, 'instance.securePort');
  const chosen = port.enabled ? port.port : secure.enabled ? secure.port : port.port;
  if (chosen === undefined || chosen === 0) throw badInput('instance.port', 'an enabled port from 1 to 65535 is required');
  const health = inst.status === undefined ? 'HEALTHY' : healthOfStatus(inst.status, 'instance.status');
  const lease = leaseOf(isObj(inst.leaseInfo) ? inst.leaseInfo : undefined);

  const metadata: Record<string, string> = {};
  if (inst.metadata !== undefined && inst.metadata !== '') {
    if (!isObj(inst.metadata)) throw badInput('instance.metadata', 'must be an object of strings');
    for (const [k, v] of Object.entries(inst.metadata)) {
      if (k.startsWith('@')) continue; // Jackson's type hint ("@class") on an empty map
      if (k.startsWith(EUREKA_KEY_PREFIX)) throw badInput(`instance.metadata.${k}`, `keys starting with "${EUREKA_KEY_PREFIX}" are reserved for the hub`);
      metadata[k] = text(v, `instance.metadata.${k}`, false) ?? '';
    }
  }
  for (const f of STRING_FIELDS) {
    const v = text(inst[f], `instance.${f}`, false);
    if (v !== undefined) metadata[EUREKA_KEY_PREFIX + f] = v;
  }
  if (secure.port !== undefined) metadata[`${EUREKA_KEY_PREFIX}securePort`] = `${secure.port}${secure.enabled ? '' : ':disabled'}`;
  const dc = isObj(inst.dataCenterInfo) ? text(inst.dataCenterInfo.name, 'instance.dataCenterInfo.name', false) : undefined;
  if (dc !== undefined && dc !== 'MyOwn') throw badInput('instance.dataCenterInfo.name', `only MyOwn is supported (Amazon metadata is not), got ${JSON.stringify(dc)}`);
  metadata[RENEWAL_KEY] = String(lease.renewalSecs);

  return {
    id,
    input: {
      id,
      service,
      namespace,
      address,
      port: chosen,
      health,
      metadata,
      source: 'self',
      ttl: lease.ttl,
      deregister_critical_after: lease.deregister_critical_after,
    },
  };
}

/** Metadata the instance's owner set, without the hub's `eureka.` keys. */
function ownMetadata(inst: Instance): Record<string, string> {
  return Object.fromEntries(Object.entries(inst.metadata).filter(([k]) => !k.startsWith(EUREKA_KEY_PREFIX)));
}

/** An instance as Eureka clients read it (JSON; the XML is the same tree, see `eureka-format.ts`). */
export function eurekaInstance(inst: Instance, actionType?: 'ADDED' | 'MODIFIED' | 'DELETED'): Obj {
  const m = inst.metadata;
  const field = (f: (typeof STRING_FIELDS)[number]): string | undefined => m[EUREKA_KEY_PREFIX + f];
  const [securePort, secureFlag] = (m[`${EUREKA_KEY_PREFIX}securePort`] ?? '443:disabled').split(':');
  const hostName = field('hostName') ?? inst.address;
  const status = statusOfHealth(inst.health);
  return {
    instanceId: inst.id,
    hostName,
    app: appOfService(inst.service),
    ipAddr: inst.address,
    status,
    overriddenStatus: inst.reportedHealth === 'DRAINING' ? 'OUT_OF_SERVICE' : 'UNKNOWN',
    port: { $: inst.port, '@enabled': 'true' },
    securePort: { $: Number(securePort), '@enabled': secureFlag === 'disabled' ? 'false' : 'true' },
    countryId: 1,
    dataCenterInfo: DEFAULT_DATA_CENTER,
    leaseInfo: leaseInfoOf(inst),
    metadata: ownMetadata(inst),
    homePageUrl: field('homePageUrl') ?? '',
    statusPageUrl: field('statusPageUrl') ?? '',
    healthCheckUrl: field('healthCheckUrl') ?? '',
    vipAddress: field('vipAddress') ?? inst.service,
    secureVipAddress: field('secureVipAddress') ?? inst.service,
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(inst.updatedAt),
    lastDirtyTimestamp: String(inst.updatedAt),
    ...(actionType !== undefined ? { actionType } : {}),
  };
}

/** Whether an instance answers to a VIP address (a comma-separated list in Eureka). */
export function hasVip(inst: Instance, vip: string, secure: boolean): boolean {
  const own = inst.metadata[EUREKA_KEY_PREFIX + (secure ? 'secureVipAddress' : 'vipAddress')] ?? inst.service;
  return own.split(',').some((v) => v.trim().toLowerCase() === vip.toLowerCase());
}
