// The command table. Add a command by writing commands/<name>.ts and listing it here.
import type { Command } from '../command';
import { inspectCommand } from './inspect';
import { pullCommand } from './pull';
import { pushCommand } from './push';

export const commands: Command[] = [pullCommand, pushCommand, inspectCommand];
