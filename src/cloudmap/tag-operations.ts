/**
 * Tags on namespaces and services, by ARN: TagResource, UntagResource, ListTagsForResource.
 * Tagging is changing the resource (`namespace:write` or `service:write`); listing is reading it.
 */
import { z } from 'zod';
import type { Action } from '../auth/roles.js';
import type { Resource } from '../auth/scope.js';
import { parseWith } from '../model/parse-input.js';
import { findNamespace, findService, requiredStr, tagsSchema, type CloudMapContext, type CloudMapOperation } from './cloudmap-context.js';
import { CloudMapError } from './cloudmap-errors.js';
import { parseArn } from './cloudmap-ids.js';
import { MAX_TAGS } from './cloudmap-store.js';

/** The resource an ARN names, checked for `action`; ResourceNotFoundException when it is gone. */
function resource(ctx: CloudMapContext, arn: string, write: boolean): string {
  const { kind, id } = parseArn(ctx.arn, arn, 'ResourceARN');
  let res: Resource;
  let action: Action;
  try {
    if (kind === 'namespace') {
      res = { namespace: findNamespace(ctx, id).name };
      action = write ? 'namespace:write' : 'namespace:read';
    } else {
      const svc = findService(ctx, id);
      res = { namespace: svc.namespace, service: svc.name };
      action = write ? 'service:write' : 'service:read';
    }
  } catch (err) {
    if (err instanceof CloudMapError && (err.type === 'NamespaceNotFound' || err.type === 'ServiceNotFound')) throw new CloudMapError('ResourceNotFoundException', `resource ${arn} not found`, 'not_found');
    throw err;
  }
  ctx.caller.require(action, res);
  return id;
}

const tagResource: CloudMapOperation = {
  write: true,
  run(input, ctx) {
    const req = parseWith(z.object({ ResourceARN: requiredStr(1011), Tags: tagsSchema.unwrap() }), input);
    const id = resource(ctx, req.ResourceARN, true);
    const tags = new Map(ctx.store.tagsOf(id));
    for (const t of req.Tags) tags.set(t.Key, t.Value);
    if (tags.size > MAX_TAGS) throw new CloudMapError('TooManyTagsException', `a resource holds at most ${MAX_TAGS} tags; this would make ${tags.size}`);
    ctx.store.setTags(id, tags);
    return {};
  },
};

const untagResource: CloudMapOperation = {
  write: true,
  run(input, ctx) {
    const req = parseWith(z.object({ ResourceARN: requiredStr(1011), TagKeys: z.array(requiredStr(128), { error: 'must be a list of tag keys' }).max(200) }), input);
    const id = resource(ctx, req.ResourceARN, true);
    const tags = new Map(ctx.store.tagsOf(id));
    for (const k of req.TagKeys) tags.delete(k);
    ctx.store.setTags(id, tags);
    return {};
  },
};

const listTags: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(z.object({ ResourceARN: requiredStr(1011) }), input);
    const id = resource(ctx, req.ResourceARN, false);
    return { Tags: [...ctx.store.tagsOf(id)].map(([Key, Value]) => ({ Key, Value })) };
  },
};

export const TAG_OPERATIONS: Readonly<Record<string, CloudMapOperation>> = {
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTags,
};
