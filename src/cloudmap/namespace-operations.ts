/**
 * Namespaces: CreateHttpNamespace, CreatePrivateDnsNamespace (the Vpc is recorded; the hub's
 * own DNS server answers for every namespace), CreatePublicDnsNamespace (refused), GetNamespace,
 * ListNamespaces and DeleteNamespace. Creating and deleting namespaces is `namespace:write`, as
 * on every other API of the hub.
 */
import { z } from 'zod';
import { namespaceNameSchema } from '../model/names.js';
import { parseWith } from '../model/parse-input.js';
import type { Namespace } from '../registry/model.js';
import {
  byId,
  checkedNamespace,
  creatorRequestId,
  epochSeconds,
  listInput,
  matches,
  str,
  tagMap,
  tagsSchema,
  type CloudMapContext,
  type CloudMapOperation,
} from './cloudmap-context.js';
import { CloudMapError, invalidInput } from './cloudmap-errors.js';
import { namespaceArn, namespaceId, page } from './cloudmap-ids.js';
import type { NamespaceType } from './cloudmap-store.js';

const createSchema = z.object({
  Name: namespaceNameSchema,
  CreatorRequestId: creatorRequestId,
  Description: str(1024).optional(),
  Tags: tagsSchema,
  Vpc: str(64).optional(),
  Properties: z.object({ DnsProperties: z.object({ SOA: z.object({ TTL: z.number().int().min(0).max(2_147_483_647) }).optional() }).optional() }).optional(),
});

function create(type: NamespaceType): CloudMapOperation {
  return {
    write: true,
    async run(input, ctx) {
      const req = parseWith(createSchema, input);
      if (type === 'DNS_PRIVATE' && req.Vpc === undefined) throw invalidInput('Vpc: is required for a private DNS namespace: the id of the VPC it is for');
      ctx.caller.require('namespace:write', { namespace: req.Name });
      const existing = ctx.registry.getNamespace(req.Name);
      const record = ctx.store.namespace(req.Name);
      // The same request again (an SDK retry) answers as the first did.
      if (existing !== undefined && req.CreatorRequestId !== undefined && record?.creatorRequestId === req.CreatorRequestId && record.operationId !== undefined) {
        return { OperationId: record.operationId };
      }
      if (existing !== undefined) {
        throw new CloudMapError('NamespaceAlreadyExists', `namespace ${req.Name} already exists (${namespaceId(req.Name)})`, 'already_exists', {
          NamespaceId: namespaceId(req.Name),
          ...(record?.creatorRequestId !== undefined ? { CreatorRequestId: record.creatorRequestId } : {}),
        });
      }
      if (req.CreatorRequestId !== undefined && ctx.store.namespaceByRequest(req.CreatorRequestId) !== undefined) {
        throw new CloudMapError('DuplicateRequest', `CreatorRequestId ${req.CreatorRequestId} was already used to create namespace ${ctx.store.namespaceByRequest(req.CreatorRequestId)!}`, 'already_exists');
      }
      await ctx.registry.write(() => ctx.registry.createNamespace({ name: req.Name, description: req.Description ?? '' }));
      const op = ctx.store.recordOperation('CREATE_NAMESPACE', { namespace: req.Name });
      ctx.store.setNamespace(req.Name, {
        type,
        operationId: op.id,
        ...(req.CreatorRequestId !== undefined ? { creatorRequestId: req.CreatorRequestId } : {}),
        ...(req.Vpc !== undefined ? { vpc: req.Vpc } : {}),
        ...(req.Properties?.DnsProperties?.SOA !== undefined ? { soaTtl: req.Properties.DnsProperties.SOA.TTL } : {}),
      });
      ctx.store.setTags(namespaceId(req.Name), tagMap(req.Tags));
      return { OperationId: op.id };
    },
  };
}

const publicDns: CloudMapOperation = {
  write: true,
  run() {
    throw invalidInput('public DNS namespaces are not supported: the hub answers DNS only on its own port (dns.listen) and manages no public zone; use CreatePrivateDnsNamespace or CreateHttpNamespace');
  },
};

/** The Namespace shape (GetNamespace) and, with fewer members, NamespaceSummary (ListNamespaces). */
export function namespaceJson(ctx: CloudMapContext, ns: Namespace): Record<string, unknown> {
  const record = ctx.store.namespace(ns.name);
  const id = namespaceId(ns.name);
  const type = record?.type ?? 'HTTP';
  return {
    Id: id,
    Arn: namespaceArn(ctx.arn, id),
    Name: ns.name,
    Type: type,
    Description: ns.description,
    ServiceCount: ctx.registry.listServices(ns.name).length,
    Properties: {
      DnsProperties: type === 'DNS_PRIVATE' ? { HostedZoneId: `Z${id.slice(3).toUpperCase()}`, ...(record?.soaTtl !== undefined ? { SOA: { TTL: record.soaTtl } } : {}) } : {},
      HttpProperties: { HttpName: ns.name },
    },
    CreateDate: epochSeconds(ns.createdAt),
    ...(record?.creatorRequestId !== undefined ? { CreatorRequestId: record.creatorRequestId } : {}),
  };
}

const getNamespace: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(byId, input);
    const ns = checkedNamespace(ctx, req.Id, 'namespace:read');
    return { Namespace: namespaceJson(ctx, ns) };
  },
};

const listSchema = listInput(['TYPE', 'NAME', 'HTTP_NAME', 'RESOURCE_OWNER']);

const listNamespaces: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(listSchema, input);
    const reads = ctx.caller.reads;
    const filters = req.Filters ?? [];
    const visible = ctx.registry.listNamespaces().filter((ns) => {
      if (reads !== undefined && !reads.namespace(ns.name)) return false;
      const type = ctx.store.namespace(ns.name)?.type ?? 'HTTP';
      return filters.every((f) => (f.Name === 'TYPE' ? matches(type, f) : f.Name === 'RESOURCE_OWNER' ? true : matches(ns.name, f)));
    });
    const p = page(visible, (ns) => ns.name, req.NextToken, req.MaxResults ?? 100);
    return { Namespaces: p.items.map((ns) => namespaceJson(ctx, ns)), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
  },
};

const deleteNamespace: CloudMapOperation = {
  write: true,
  async run(input, ctx) {
    const req = parseWith(byId, input);
    const ns = checkedNamespace(ctx, req.Id, 'namespace:write');
    await ctx.registry.write(() => ctx.registry.deleteNamespace(ns.name));
    const op = ctx.store.recordOperation('DELETE_NAMESPACE', { namespace: ns.name });
    return { OperationId: op.id };
  },
};

export const NAMESPACE_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  CreateHttpNamespace: create('HTTP'),
  CreatePrivateDnsNamespace: create('DNS_PRIVATE'),
  CreatePublicDnsNamespace: publicDns,
  GetNamespace: getNamespace,
  ListNamespaces: listNamespaces,
  DeleteNamespace: deleteNamespace,
};
