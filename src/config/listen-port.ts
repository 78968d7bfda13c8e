import { z } from 'zod';

const ALLOWED = 'must be an integer from 0 to 65535 (0 picks a free port)';

/** A port a listener binds to; 0 lets the system pick one (the process prints which). */
export const anyListenPort = z.number({ error: ALLOWED }).int({ error: ALLOWED }).min(0, { error: ALLOWED }).max(65535, { error: ALLOWED });

export const listenPort = (description: string, def: number) => anyListenPort.default(def).describe(description);
