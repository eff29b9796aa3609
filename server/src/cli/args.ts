// Argument parsing shared by the commands. Its own small module, so that a command that parses
// flags does not load another command (and the registry client with it).
import { StrataError } from '../engine/errors';

/** Splits argv into flags (with values where named) and positionals; unknown flags are usage errors. */
export function parseArgs(
  args: string[],
  command: string,
  withValue: string[],
  bare: string[],
): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (withValue.includes(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined)
        throw new StrataError(
          'USAGE',
          `strata ${command}: ${name} needs a value`,
          `see 'strata ${command} --help'`,
        );
      flags.set(name, value);
    } else if (bare.includes(name) && eq < 0) {
      flags.set(name, '');
    } else {
      throw new StrataError(
        'USAGE',
        `strata ${command}: unknown option ${a}`,
        `see 'strata ${command} --help'`,
      );
    }
  }
  return { flags, positional };
}
