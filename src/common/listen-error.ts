import { OutriggerError } from './errors.js';

/** A listener that cannot open, reported as a config error naming the key and flag to change. */
export function listenError(key: string, port: number, err: Error): OutriggerError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' || /address already in use/i.test(err.message) ? 'is already in use' : `cannot be opened (${err.message})`;
  return new OutriggerError('config_invalid', `${key}: port ${port} ${why}; choose another with --${key.replaceAll('_', '-')}`, key);
}
