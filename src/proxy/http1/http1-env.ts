/** What every exchange of the raw-socket path shares: the parser binding, time, randomness, pools and metrics. */
import type { Logger } from '../../common/logger.js';
import type { RetryDeps } from '../retry-state.js';
import type { LlhttpBinding } from './llhttp-parser.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface Http1Env extends RetryDeps {
  readonly binding: LlhttpBinding;
  readonly pools: UpstreamPools;
  readonly logger: Logger;
}
