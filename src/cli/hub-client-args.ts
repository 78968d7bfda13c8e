/**
 * The options every CLI command that asks a hub takes: the token (--token-file or
 * OUTRIGGER_TOKEN_FILE naming a file, OUTRIGGER_TOKEN, or --token) and the TLS files of an https
 * hub (--ca-file, --cert-file, --key-file, or their OUTRIGGER_ variables).
 */
import { readFileSync } from 'node:fs';
import { OutriggerError } from '../common/errors.js';
import type { HubTlsFiles } from '../http/hub-client.js';

export const HUB_CLIENT_OPTIONS = {
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
} as const;

type Values = Partial<Record<keyof typeof HUB_CLIENT_OPTIONS, string | undefined>>;

export function hubToken(values: Values, env: NodeJS.ProcessEnv): string | undefined {
  return values.token ?? tokenFromFile(values['token-file'] ?? nonEmpty(env.OUTRIGGER_TOKEN_FILE)) ?? nonEmpty(env.OUTRIGGER_TOKEN);
}

export function hubTlsFiles(values: Values, env: NodeJS.ProcessEnv): HubTlsFiles {
  return {
    ...optional('caFile', values['ca-file'] ?? nonEmpty(env.OUTRIGGER_CA_FILE)),
    ...optional('certFile', values['cert-file'] ?? nonEmpty(env.OUTRIGGER_CERT_FILE)),
    ...optional('keyFile', values['key-file'] ?? nonEmpty(env.OUTRIGGER_KEY_FILE)),
  };
}

/** The token in a file (one trailing newline ignored); a file that cannot be read or is empty is bad input. */
function tokenFromFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new OutriggerError('invalid_argument', `--token-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, '--token-file');
  }
  if (text.trim() === '') throw new OutriggerError('invalid_argument', `--token-file: ${file} is empty; it must hold the token`, '--token-file');
  return text;
}

export const nonEmpty = (v: string | undefined): string | undefined => (v !== undefined && v !== '' ? v : undefined);
export const optional = <K extends string>(key: K, v: string | undefined): { [P in K]?: string } => (v !== undefined ? ({ [key]: v } as { [P in K]?: string }) : {});
