/**
 * GetOperation and ListOperations. Every write here completes before it answers, so an
 * operation is SUCCESS when its id is handed out; a client polling GetOperation, as the AWS
 * CLI and the seeds do, sees it at once. Reading an operation needs read on what it changed.
 */
import { z } from 'zod';
import { parseWith } from '../model/parse-input.js';
import { epochSeconds, listInput, matches, requiredStr, type CloudMapContext, type CloudMapOperation } from './cloudmap-context.js';
import { CloudMapError, invalidInput } from './cloudmap-errors.js';
import { namespaceId, page, serviceId } from './cloudmap-ids.js';
import type { OperationRecord } from './cloudmap-store.js';

function readable(ctx: CloudMapContext, op: OperationRecord): boolean {
  const reads = ctx.caller.reads;
  if (reads === undefined) return true;
  return op.service !== undefined ? reads.service(op.namespace, op.service) : reads.namespace(op.namespace);
}

const getOperation: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(z.object({ OperationId: requiredStr(255) }), input);
    const op = ctx.store.operation(req.OperationId);
    if (op === undefined) throw new CloudMapError('OperationNotFound', `operation ${req.OperationId} not found (the hub keeps the latest 10000)`, 'not_found');
    ctx.caller.require(op.service !== undefined ? 'service:read' : 'namespace:read', { namespace: op.namespace, ...(op.service !== undefined ? { service: op.service } : {}) });
    const targets: Record<string, string> = { NAMESPACE: namespaceId(op.namespace) };
    if (op.service !== undefined) targets.SERVICE = serviceId(op.namespace, op.service);
    if (op.instance !== undefined) targets.INSTANCE = op.instance;
    return {
      Operation: {
        Id: op.id,
        Type: op.type,
        Status: op.status,
        ...(op.errorCode !== undefined ? { ErrorCode: op.errorCode, ErrorMessage: op.errorMessage ?? '' } : {}),
        CreateDate: epochSeconds(op.createdAt),
        UpdateDate: epochSeconds(op.updatedAt),
        Targets: targets,
      },
    };
  },
};

const listSchema = listInput(['NAMESPACE_ID', 'SERVICE_ID', 'STATUS', 'TYPE', 'UPDATE_DATE']);

const listOperations: CloudMapOperation = {
  write: false,
  run(input, ctx) {
    const req = parseWith(listSchema, input);
    const filters = req.Filters ?? [];
    for (const f of filters) {
      if (f.Name === 'UPDATE_DATE' && (f.Condition !== 'BETWEEN' || f.Values.length !== 2 || f.Values.some((v) => !Number.isFinite(Number(v))))) {
        throw invalidInput('Filters: UPDATE_DATE takes Condition BETWEEN and two Values, the start and end in seconds since the epoch');
      }
    }
    const ops = ctx.store.allOperations().filter(
      (op) =>
        readable(ctx, op) &&
        filters.every((f) => {
          switch (f.Name) {
            case 'NAMESPACE_ID':
              return matches(namespaceId(op.namespace), f);
            case 'SERVICE_ID':
              return op.service !== undefined && matches(serviceId(op.namespace, op.service), f);
            case 'STATUS':
              return matches(op.status, f);
            case 'TYPE':
              return matches(op.type, f);
            case 'UPDATE_DATE':
              return epochSeconds(op.updatedAt) >= Number(f.Values[0]) && epochSeconds(op.updatedAt) <= Number(f.Values[1]);
          }
        }),
    );
    const p = page(ops, (op) => op.id, req.NextToken, req.MaxResults ?? 100);
    return { Operations: p.items.map((op) => ({ Id: op.id, Status: op.status })), ...(p.nextToken !== undefined ? { NextToken: p.nextToken } : {}) };
  },
};

export const OPERATION_QUERIES: Readonly<Record<string, CloudMapOperation>> = {
  GetOperation: getOperation,
  ListOperations: listOperations,
};
