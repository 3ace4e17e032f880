import type { Config } from '../config/load-config.ts';
import type { CoreServices } from '../core.ts';
import type { Terminal } from './terminal.ts';

/**
 * What a command gets: its own arguments, whether to print JSON, the configuration, the core's
 * services and the terminal it talks to.
 */
export type CommandContext = { args: string[]; json: boolean; config: Config; services: CoreServices; terminal: Terminal };
