// The key of a plan: everything about an invocation that can change what `strata build` or
// `strata run` would do, in the exact form the native front end (native/front/key.c) rebuilds it
// from its own argv, cwd, uid, terminals and environment. Both hash the same bytes; any byte that
// differs means another plan file, so the front end finds none and Node runs.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import { defaultStrataHome } from '../store/paths';

/** Bump when the key, the plan format or what a plan means changes (old plans then never match). */
export const PLAN_FORMAT = 'strata-plan-1';

/**
 * The environment variables that change a build or run (store location, helper, registries,
 * pip's index, layer limits, colours, the terminal type a TTY workload gets). Same list, same
 * order in native/front/key.c.
 */
export const KEY_ENV = [
  'STRATA_HOME',
  'XDG_DATA_HOME',
  'HOME',
  'STRATA_BOX',
  'STRATA_REGISTRY_MIRRORS',
  'STRATA_MAX_LAYER_BYTES',
  'XDG_CONFIG_HOME',
  'DOCKER_CONFIG',
  'PIP_INDEX_URL',
  'NO_COLOR',
  'TERM',
] as const;

export interface Invocation {
  /** The Strata install: the folder holding out/cli.js (real path). */
  root: string;
  /** The CLI's arguments after the program, e.g. ['run', 'hello']. */
  args: string[];
  cwd: string;
  uid: number;
  /** isatty of fds 0, 1, 2. */
  ttys: [boolean, boolean, boolean];
  env: NodeJS.ProcessEnv;
}

/** The invocation of this CLI process (out/cli.js), or undefined when not run from a bundle. */
export function currentInvocation(env: NodeJS.ProcessEnv, cwd: string): Invocation | undefined {
  const script = process.argv[1];
  if (!script || path.basename(script) !== 'cli.js') return undefined;
  let root: string;
  try {
    root = path.dirname(path.dirname(fs.realpathSync(script)));
  } catch {
    return undefined;
  }
  return {
    root,
    args: process.argv.slice(2),
    cwd,
    uid: process.getuid?.() ?? -1,
    ttys: [isatty(0), isatty(1), isatty(2)],
    env,
  };
}

/** The bytes hashed into the plan's name: NUL-terminated fields. */
export function planKeyText(inv: Invocation): string {
  const fields = [
    PLAN_FORMAT,
    inv.root,
    String(inv.uid),
    inv.cwd,
    inv.ttys.map((t) => (t ? '1' : '0')).join(''),
    ...KEY_ENV.map((name) => (inv.env[name] === undefined ? name : `${name}=${inv.env[name]}`)),
    '--',
    ...inv.args,
  ];
  return fields.map((f) => `${f}\0`).join('');
}

/** $STRATA_HOME/plans/<sha256 of the key>. */
export function planFile(inv: Invocation): string {
  const hex = createHash('sha256').update(planKeyText(inv), 'utf8').digest('hex');
  return path.join(defaultStrataHome(inv.env), 'plans', hex);
}
