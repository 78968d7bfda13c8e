/**
 * Eureka's errors. A Eureka server answers with a status and, at most, a short body; clients act
 * on the status alone (a 404 on renewal makes them register again). The body here is the
 * Outrigger error (code, message, field), in the format the client asked for, so a person
 * reading it learns which field was wrong and what is allowed.
 */
import { OutriggerError, invalidArgument, notFound } from '../common/errors.js';

export const appNotFound = (app: string): OutriggerError => notFound(`application ${app} is not registered`, 'app');
export const instanceNotFound = (app: string, id: string): OutriggerError => notFound(`instance ${id} of application ${app} is not registered`, 'id');
export const badInput = (field: string, message: string): OutriggerError => invalidArgument(field, `${field}: ${message}`);

/** The status and the body of an error; anything that is not an OutriggerError is an internal error. */
export function eurekaError(err: unknown): { status: number; body: { error: { code: string; message: string; field?: string } } } {
  const e = err instanceof OutriggerError ? err : new OutriggerError('internal', 'internal error; the hub log has the details');
  return { status: e.httpStatus, body: e.toJSON() };
}
