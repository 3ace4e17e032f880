import type { Config } from '../config/load-config.ts';
import type { CoreServices } from '../core.ts';

/** What a command gets: its own arguments, whether to print JSON, the configuration and the core's services. */
export type CommandContext = { args: string[]; json: boolean; config: Config; services: CoreServices };
