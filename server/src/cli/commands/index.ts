// The command table. Add a command by writing commands/<name>.ts and listing it here.
import type { Command } from '../command';
import { inspectCommand } from './inspect';
import { pullCommand } from './pull';
import { pushCommand } from './push';
import { validateCommand } from './validate';

export const commands: Command[] = [validateCommand, pullCommand, pushCommand, inspectCommand];
