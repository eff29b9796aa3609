// Reads the top level of a spec: version, name, base image, image config, then the sections.
import * as path from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import { checkImageRef } from '../../engine/image/ref';
import type { SpecFix } from '../diagnostic';
import { TOP_LEVEL_KEYS, type Spec, type Step, type TopLevelKey } from '../model';
import { checkEnvName, checkImageName, checkPlatform, suggestImageName } from '../values';
import { suggestKey } from '../suggest';
import { describeNode } from '../yamlSource';
import {
  checkDest,
  isNull,
  rangeOf,
  replaceWith,
  readMap,
  readStringMap,
  readText,
  readTextList,
  report,
  scalarText,
  spanOf,
  type MapEntry,
  type ReadContext,
} from './context';
import { readSteps } from './steps';
import { readMounts, readWorkloads } from './workloads';

export const SCRATCH = 'scratch';

/**
 * `from: scratch` starts with an empty file system, so a step that runs a program needs an earlier
 * `copy` to have put one there (a static busybox, a rootfs). Once any copy came first the validator
 * cannot know what it provides, so it says nothing. Without one: `run` is a warning (the build will
 * say exactly which step has no file system), `apt`/`pip` an error (they also need a package manager).
 */
function checkScratchSteps(ctx: ReadContext, steps: Step[]): void {
  for (const s of steps) {
    if (s.kind === 'copy') return;
    if (s.kind === 'run') {
      report(
        ctx,
        'warning',
        'scratch-step',
        [s.range.start.offset, s.range.end.offset],
        "a run step needs a shell (/bin/sh) in the image, but 'from: scratch' starts empty and no earlier copy step provides one; copy one in first (e.g. a static busybox) or start from an image such as docker.io/library/debian:bookworm-slim",
      );
    } else {
      report(
        ctx,
        'error',
        'scratch-step',
        [s.range.start.offset, s.range.end.offset],
        `${s.kind === 'apt' ? 'an' : 'a'} ${s.kind} step needs a shell and ${s.kind} in the image, but 'from: scratch' starts empty; start from an image such as docker.io/library/debian:bookworm-slim`,
      );
    }
  }
}

/** Reads a whole spec; returns the model when every required part could be read. */
export function readSpec(ctx: ReadContext, root: unknown, file: string | undefined): Spec | undefined {
  const docStart = 0;
  if (isNull(root)) {
    report(
      ctx,
      'error',
      'empty-spec',
      [docStart, docStart],
      'this spec is empty; a strata.yaml needs at least strata: 1, name: and from:',
      [
        {
          title: 'Insert a minimal spec',
          edits: [
            {
              start: 0,
              end: 0,
              newText: `strata: 1\nname: ${defaultName(file)}\nfrom: docker.io/library/debian:bookworm-slim\n`,
            },
          ],
          preferred: true,
        },
      ],
    );
    return undefined;
  }
  if (!isMap(root)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(root, [0, 0]),
      `a strata.yaml is a mapping of keys (strata:, name:, from:, steps: …), not ${describeNode(root)}`,
    );
    return undefined;
  }
  const top = readMap(ctx, root, 'the spec', TOP_LEVEL_KEYS, [0, 0]);
  if (!top) return undefined;
  const ranges: Spec['ranges'] = {};
  for (const [k, e] of top) ranges[k as TopLevelKey] = rangeOf(ctx, [e.keySpan[0], e.span[1]]);
  const mapStart = root.range?.[0] ?? 0;
  const insertAt = (after: TopLevelKey[]): number => {
    // Insert a missing key after the keys that should come before it, else at the top.
    let at = mapStart;
    for (const k of after) {
      const e = top.get(k);
      if (e) at = Math.max(at, lineEnd(ctx.text, e.span[1]));
    }
    return at;
  };
  // A typo of a required key is reported once, as the unknown key with its rename fix.
  const misspelt = new Set(
    root.items
      .map((p) => (isScalar(p.key) ? String(p.key.value) : ''))
      .filter((k) => k && !top.has(k))
      .map((k) => suggestKey(k, TOP_LEVEL_KEYS)),
  );
  const missing = (key: string, example: string, after: TopLevelKey[]): void => {
    if (misspelt.has(key as TopLevelKey)) return;
    const at = insertAt(after);
    const fix: SpecFix = {
      title: `Add '${key}: ${example}'`,
      edits: [{ start: at, end: at, newText: `${key}: ${example}\n` }],
      preferred: true,
    };
    const first = root.items[0];
    const span = spanOf(first?.key, [mapStart, mapStart]);
    report(ctx, 'error', 'missing-key', span, missingMessage[key] ?? `missing ${key}:`, [fix]);
  };

  const version = readVersion(ctx, top.get('strata'));
  if (!top.has('strata')) missing('strata', '1', []);
  const name = readName(ctx, top.get('name'));
  if (!top.has('name')) missing('name', defaultName(file), ['strata']);
  const from = readFrom(ctx, top.get('from'));
  if (!top.has('from')) missing('from', 'docker.io/library/debian:bookworm-slim', ['strata', 'name']);

  const platform = optionalText(ctx, top.get('platform'), 'platform');
  if (platform !== undefined) {
    const bad = checkPlatform(platform);
    const span = top.get('platform')!.span;
    // The names uname prints, for the ones OCI uses.
    const oci = platform.replace(/\bx86_64\b/, 'amd64').replace(/\baarch64\b/, 'arm64');
    if (bad)
      report(ctx, 'error', 'bad-value', span, bad, oci !== platform ? replaceWith(span, oci) : undefined);
  }
  const envEntry = top.get('env');
  const env = envEntry ? readStringMap(ctx, envEntry.value, 'env', envEntry.keySpan, checkEnvName) : {};
  const workdir = optionalText(ctx, top.get('workdir'), 'workdir');
  if (workdir !== undefined) {
    checkDest(ctx, workdir, top.get('workdir')!.span, 'workdir');
  }
  const user = optionalText(ctx, top.get('user'), 'user');
  if (user !== undefined && !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(user)) {
    report(
      ctx,
      'error',
      'bad-value',
      top.get('user')!.span,
      `user should be NAME, UID or UID:GID (e.g. 1000:1000), not '${user}'`,
    );
  }
  const entrypoint = readArgv(ctx, top.get('entrypoint'), 'entrypoint');
  const cmd = readArgv(ctx, top.get('cmd'), 'cmd');
  const labelsEntry = top.get('labels');
  const labels = labelsEntry
    ? readStringMap(ctx, labelsEntry.value, 'labels', labelsEntry.keySpan)
    : undefined;
  const stepsEntry = top.get('steps');
  const steps = stepsEntry ? readSteps(ctx, stepsEntry.value, stepsEntry.keySpan) : [];
  const mountsEntry = top.get('mounts');
  const mounts = mountsEntry ? readMounts(ctx, mountsEntry.value, mountsEntry.keySpan) : [];
  const workloadsEntry = top.get('workloads');
  const workloads = workloadsEntry ? readWorkloads(ctx, workloadsEntry.value, workloadsEntry.keySpan) : {};

  if (from === SCRATCH) checkScratchSteps(ctx, steps);
  if (version === undefined || name === undefined || from === undefined) return undefined;
  return {
    strata: version,
    name,
    from,
    ...(platform !== undefined ? { platform } : {}),
    env,
    ...(workdir !== undefined ? { workdir } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(cmd ? { cmd } : {}),
    ...(labels ? { labels } : {}),
    steps,
    mounts,
    workloads,
    ranges,
  };
}

const missingMessage: Record<string, string> = {
  strata: "missing 'strata: 1', the format version, on the first line; it lets future Strata read this file",
  name: 'missing name:, the name of the environment (the image is called strata/NAME)',
  from: "missing from:, the base image, e.g. 'from: docker.io/library/debian:bookworm-slim' (or 'from: scratch' for an empty one)",
};

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

function defaultName(file: string | undefined): string {
  return suggestImageName(file ? path.basename(path.dirname(path.resolve(file))) : 'environment');
}

function readVersion(ctx: ReadContext, e: MapEntry | undefined): 1 | undefined {
  if (!e) return undefined;
  const text = scalarText(e.value);
  if (text === '1') return 1;
  const fix: SpecFix = {
    title: "Change to 'strata: 1'",
    edits: [{ start: e.span[0], end: e.span[1], newText: '1' }],
  };
  if (text !== undefined && /^\d+$/.test(text)) {
    report(
      ctx,
      'error',
      'bad-version',
      e.span,
      `this Strata reads format version 1; version ${text} needs a newer Strata`,
    );
  } else {
    report(
      ctx,
      'error',
      'bad-version',
      e.span,
      `strata: is the format version and should be 1, not ${describeNode(e.value)}`,
      [fix],
    );
  }
  return undefined;
}

function readName(ctx: ReadContext, e: MapEntry | undefined): string | undefined {
  if (!e) return undefined;
  const name = readText(ctx, e.value, 'name', e.keySpan);
  if (name === undefined) return undefined;
  const bad = checkImageName(name);
  if (bad) {
    const good = suggestImageName(name);
    report(
      ctx,
      'error',
      'bad-name',
      e.span,
      bad,
      good !== name
        ? [
            {
              title: `Change to '${good}'`,
              edits: [{ start: e.span[0], end: e.span[1], newText: good }],
              preferred: true,
            },
          ]
        : undefined,
    );
    return undefined;
  }
  return name;
}

function readFrom(ctx: ReadContext, e: MapEntry | undefined): string | undefined {
  if (!e) return undefined;
  const ref = readText(ctx, e.value, 'from', e.keySpan);
  if (ref === undefined) return undefined;
  if (ref === SCRATCH) return ref;
  const problem = checkImageRef(ref);
  // Offsets inside the reference map onto the source only for an unquoted, single-line value.
  const exact = isScalar(e.value) && e.value.type === 'PLAIN';
  const base = e.span[0];
  if (problem) {
    const span: [number, number] = exact
      ? [base + problem.start, base + Math.max(problem.end, problem.start + 1)]
      : e.span;
    report(ctx, 'error', 'bad-ref', span, `${problem.message}; ${problem.hint}`);
    return undefined;
  }
  const at = ref.indexOf('@');
  const tagPart = at >= 0 ? ref.slice(0, at) : ref;
  const colon = tagPart.lastIndexOf(':');
  const hasTag = colon > tagPart.lastIndexOf('/');
  if (at < 0 && (!hasTag || tagPart.slice(colon + 1) === 'latest')) {
    report(
      ctx,
      'warning',
      'floating-tag',
      e.span,
      `${hasTag ? "'latest'" : 'no tag (which means latest)'} moves whenever the image is republished; strata.lock pins the digest this build used, but a build without the lock may get another image. Name a release, e.g. debian:bookworm-slim`,
    );
  }
  return ref;
}

function optionalText(ctx: ReadContext, e: MapEntry | undefined, what: string): string | undefined {
  if (!e || isNull(e.value)) return undefined;
  return readText(ctx, e.value, what, e.keySpan);
}

function readArgv(ctx: ReadContext, e: MapEntry | undefined, what: string): string[] | undefined {
  if (!e || isNull(e.value)) return undefined;
  if (isSeq(e.value)) return readTextList(ctx, e.value, what, e.keySpan)?.map((i) => i.value);
  const text = readText(ctx, e.value, what, e.keySpan);
  return text === undefined ? undefined : ['/bin/sh', '-c', text];
}
