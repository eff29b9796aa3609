// The command table. Add a command by writing commands/<name>.ts and listing it here.
import type { Command } from '../command';

export const commands: Command[] = [];
