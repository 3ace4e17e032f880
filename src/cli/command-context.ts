import type { CoreServices } from '../core.ts';

/** What a command gets: its own arguments, whether to print JSON, and the core's services. */
export type CommandContext = { args: string[]; json: boolean; services: CoreServices };
