// The command table. Add a command by writing commands/<name>.ts and listing it here.
import type { Command } from '../command';
import { buildCommand } from './build';
import { exportCommand } from './export';
import { fsckCommand } from './fsck';
import { gcCommand } from './gc';
import { imagesCommand } from './images';
import { importCommand } from './import';
import { inspectCommand } from './inspect';
import { pullCommand } from './pull';
import { pushCommand } from './push';
import { runCommand } from './run';
import { runsCommand } from './runs';
import { shellCommand } from './shell';
import { validateCommand } from './validate';
import { verifyCommand } from './verify';

export const commands: Command[] = [
  validateCommand,
  buildCommand,
  runCommand,
  shellCommand,
  verifyCommand,
  runsCommand,
  pullCommand,
  pushCommand,
  inspectCommand,
  imagesCommand,
  importCommand,
  exportCommand,
  gcCommand,
  fsckCommand,
];
