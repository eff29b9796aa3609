// `strata shell [SPEC] [--net none|host]`
import type { Command } from '../command';
import { runCli } from './run';

const usage = `usage: strata shell [SPEC] [--locked] [--net none|host] [-- CMD...]

Builds the environment if needed and opens an interactive shell in it (bash when the image has
it, else sh) with the spec's mounts, as root in the container's own user namespace. Changes to
the image are thrown away on exit; files written to mounts stay. Network: none unless --net host.`;

export const shellCommand: Command = {
  name: 'shell',
  summary: 'open an interactive shell in the environment of strata.yaml',
  usage,
  run: (args, io) => runCli(args, io, true),
};
