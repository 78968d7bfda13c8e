import { z } from 'zod';

const TARGET = 'must be an integer from 1 to 65535';
const LISTEN = 'must be an integer from 0 to 65535 (0 picks a free port)';

const integer = (min: number, error: string) => z.number({ error }).int({ error }).min(min, { error }).max(65535, { error });

/** A port something listens on and others connect to: an instance's, an app's. */
export const portSchema = integer(1, TARGET);

/** A port a listener binds to; 0 lets the system pick one (the process prints which). */
export const anyListenPort = integer(0, LISTEN);

export const listenPort = (description: string, def: number) => anyListenPort.default(def).describe(description);
