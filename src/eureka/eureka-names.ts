/**
 * Eureka app names are upper-case (`ORDER-SERVICE`) and case-insensitive; Outrigger service
 * names are lower-case DNS labels (`order-service`). An app maps to its name in lower case, and
 * back in upper case, so the mapping is one-to-one for every name that is a DNS label in either
 * case; any other name (with `_` or `.`, longer than 63) is refused rather than changed.
 */
import { isDnsLabel } from '../model/names.js';
import { badInput } from './eureka-errors.js';

export function serviceOfApp(app: string, field = 'app'): string {
  const service = app.toLowerCase();
  if (!isDnsLabel(service)) {
    throw badInput(field, `must be 1-63 letters, digits or "-", starting and ending with a letter or digit (it becomes the Outrigger service name in lower case), got ${JSON.stringify(app.slice(0, 80))}`);
  }
  return service;
}

export const appOfService = (service: string): string => service.toUpperCase();
