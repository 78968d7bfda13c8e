import { serviceKey } from '../model/names.js';
import type { ServiceConfig } from '../model/service-config.js';
import { type Namespace, type Service } from '../registry/model.js';

/** Namespaces and services as the REST API shows them (snake_case, ISO-8601 times). */

export interface NamespaceJson {
  name: string;
  description: string;
  service_count: number;
  created_at: string;
  revision: number;
}

export interface ServiceJson {
  name: string;
  namespace: string;
  /** `<service>.<namespace>`: the xDS cluster name and the sidecar's routing key. */
  key: string;
  config: ServiceConfig;
  instance_count: number;
  created_at: string;
  revision: number;
}

export function namespaceToJson(ns: Namespace, serviceCount: number): NamespaceJson {
  return {
    name: ns.name,
    description: ns.description,
    service_count: serviceCount,
    created_at: new Date(ns.createdAt).toISOString(),
    revision: ns.revision,
  };
}

export function serviceToJson(svc: Service, instanceCount: number): ServiceJson {
  return {
    name: svc.name,
    namespace: svc.namespace,
    key: serviceKey(svc.name, svc.namespace),
    config: svc.config,
    instance_count: instanceCount,
    created_at: new Date(svc.createdAt).toISOString(),
    revision: svc.revision,
  };
}
