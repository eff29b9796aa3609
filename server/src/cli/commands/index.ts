// The command table. Add a command by writing commands/<name>.ts and listing it here.
// The table is lazy: each command module (and whatever heavy parts of the engine it pulls in, such
// as the registry client with https/tls) is evaluated only when that command is chosen; `strata
// --help` lists from the names and summaries below. The summaries repeat the modules' own, and a
// test (test/build/cli-table.test.ts) checks that they agree. require() rather than import(): the
// bundle evaluates a required module on first use, and the test runner's tsx/cjs hook (which
// import() bypasses) loads it in-process.
/* eslint-disable @typescript-eslint/no-require-imports */
import type { CommandEntry } from '../command';

export const commands: CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check strata.yaml (and strata.lock) and print file:line:col problems',
    load: () => (require('./validate') as typeof import('./validate')).validateCommand,
  },
  {
    name: 'build',
    summary: 'build strata.yaml into an image and write strata.lock',
    load: () => (require('./build') as typeof import('./build')).buildCommand,
  },
  {
    name: 'run',
    summary: 'run a workload of strata.yaml (or a command) in its environment',
    load: () => (require('./run') as typeof import('./run')).runCommand,
  },
  {
    name: 'shell',
    summary: 'open an interactive shell in the environment of strata.yaml',
    load: () => (require('./shell') as typeof import('./shell')).shellCommand,
  },
  {
    name: 'verify',
    summary: 'rebuild from strata.lock in a throwaway store and report reproduced or drift',
    load: () => (require('./verify') as typeof import('./verify')).verifyCommand,
  },
  {
    name: 'runs',
    summary: 'list the records of past runs, or show one',
    load: () => (require('./runs') as typeof import('./runs')).runsCommand,
  },
  {
    name: 'pull',
    summary: 'fetch an image from a registry into the store (verified, unpacked)',
    load: () => (require('./pull') as typeof import('./pull')).pullCommand,
  },
  {
    name: 'push',
    summary: 'send an image of the store to a registry (only missing blobs)',
    load: () => (require('./push') as typeof import('./push')).pushCommand,
  },
  {
    name: 'inspect',
    summary: 'show the manifest, config and layers of an image (local or remote)',
    load: () => (require('./inspect') as typeof import('./inspect')).inspectCommand,
  },
  {
    name: 'images',
    summary: 'list the images in the store',
    load: () => (require('./images') as typeof import('./images')).imagesCommand,
  },
  {
    name: 'import',
    summary: 'load an image archive (oci-archive or docker-archive) into the store',
    load: () => (require('./import') as typeof import('./import')).importCommand,
  },
  {
    name: 'export',
    summary: 'write an image of the store to an archive (oci or docker format)',
    load: () => (require('./export') as typeof import('./export')).exportCommand,
  },
  {
    name: 'gc',
    summary: 'remove content no image, build cache entry or running container uses',
    load: () => (require('./gc') as typeof import('./gc')).gcCommand,
  },
  {
    name: 'fsck',
    summary: 'check the store: re-hash blobs, follow references, check layer trees',
    load: () => (require('./fsck') as typeof import('./fsck')).fsckCommand,
  },
];
