// Image references, parsed and normalised as distribution/reference (the grammar Docker, podman,
// skopeo and containerd share) does it:
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path-component ( "/" path-component )*
//   domain     := host [ ":" port ]          (a first component with "." or ":", or "localhost",
//                                            or with upper-case letters; anything else is a path)
//   path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest     := "sha256:" 64 lowercase hex   (sha512: 128 hex)
//
// Normalisation: no domain means docker.io; a single docker.io path component means library/NAME;
// index.docker.io is docker.io; neither tag nor digest means the tag "latest".
//
// Pure module (no Node imports): the language server uses checkImageRef() for diagnostics with
// offsets, the engine uses parseImageRef(), which throws a StrataError.
import { StrataError } from '../errors';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** distribution/reference limits the whole name (domain and path) to 255 characters. */
export const NAME_MAX_LENGTH = 255;

export interface ImageRef {
  /** Registry host with optional port, normalised: "docker.io", "ghcr.io", "localhost:5000". */
  registry: string;
  /** Repository path inside the registry: "library/debian", "org/tool". */
  repository: string;
  /** The tag, if one was given (or implied: "latest" when there is neither tag nor digest). */
  tag?: string;
  /** The manifest digest ("sha256:…"), if one was given. It wins over the tag when pulling. */
  digest?: string;
}

/** A problem in a reference, with the offsets (in the reference text) of the part at fault. */
export interface RefProblem {
  message: string;
  hint: string;
  start: number;
  end: number;
}

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]+$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };
const HEX64 = /^[a-f0-9]{64}$/;

type Parsed = { ok: true; ref: ImageRef } | { ok: false; problem: RefProblem };

function problem(message: string, hint: string, start: number, end: number): Parsed {
  return { ok: false, problem: { message, hint, start, end } };
}

/** Checks "host[:port]" (a registry domain). Returns an error text, or undefined when valid. */
function checkDomain(domain: string): string | undefined {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close < 0) return 'an IPv6 registry address needs a closing "]"';
    host = domain.slice(0, close + 1);
    const rest = domain.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `unexpected "${rest}" after the IPv6 address`;
      port = rest.slice(1);
    }
    if (!IPV6_HOST.test(host)) return `"${host}" is not an IPv6 address`;
  } else {
    const colon = domain.lastIndexOf(':');
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    for (const part of host.split('.')) {
      if (!DOMAIN_COMPONENT.test(part)) return `"${host}" is not a valid registry host name`;
    }
  }
  if (port !== undefined && !PORT.test(port)) return `the port "${port}" is not a number`;
  return undefined;
}

/** Splits a name into its registry domain and its repository path, as splitDockerDomain does. */
function splitDomain(name: string): { domain: string | undefined; path: string; pathStart: number } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: undefined, path: name, pathStart: 0 };
  const first = name.slice(0, slash);
  const isDomain =
    first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
  if (!isDomain) return { domain: undefined, path: name, pathStart: 0 };
  return { domain: first, path: name.slice(slash + 1), pathStart: slash + 1 };
}

function parse(text: string): Parsed {
  const end = text.length;
  if (text.trim() === '') {
    return problem(
      'the image reference is empty',
      'write a reference such as docker.io/library/debian:bookworm',
      0,
      end,
    );
  }
  if (text !== text.trim() || /\s/.test(text)) {
    const at = text.search(/\s/);
    return problem(`the image reference "${text}" contains white space`, 'remove the spaces', at, at + 1);
  }
  // The digest: everything after the first "@".
  let rest = text;
  let digest: string | undefined;
  const at = text.indexOf('@');
  if (at >= 0) {
    digest = text.slice(at + 1);
    rest = text.slice(0, at);
    const colon = digest.indexOf(':');
    const algorithm = colon < 0 ? digest : digest.slice(0, colon);
    const hex = colon < 0 ? '' : digest.slice(colon + 1);
    const want = DIGEST_ALGORITHMS[algorithm];
    if (colon < 0 || want === undefined) {
      return problem(
        `"${digest}" is not a digest`,
        'a digest is "sha256:" followed by 64 lowercase hex digits, e.g. @sha256:0123…',
        at + 1,
        end,
      );
    }
    if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) {
      return problem(
        `the ${algorithm} digest "${digest}" must have exactly ${want} lowercase hex digits (it has ${hex.length} characters)`,
        'copy the whole digest, e.g. from "strata inspect" or "skopeo inspect"',
        at + 1 + colon + 1,
        end,
      );
    }
  }
  // The tag: after the last ":" that follows the last "/" (a ":" before a "/" is a port).
  let name = rest;
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    name = rest.slice(0, lastColon);
    if (!TAG.test(tag)) {
      return problem(
        tag === '' ? `the tag after ":" is empty in "${text}"` : `"${tag}" is not a valid tag`,
        'a tag has up to 128 letters, digits, "_", "." and "-", and does not start with "." or "-"',
        lastColon + 1,
        lastColon + 1 + tag.length,
      );
    }
  }
  if (name === '') {
    return problem(
      `the image reference "${text}" has no repository name`,
      'write NAME[:TAG][@DIGEST]',
      0,
      end,
    );
  }
  if (name.length > NAME_MAX_LENGTH) {
    return problem(
      `the repository name is ${name.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`,
      'use a shorter name',
      0,
      name.length,
    );
  }
  const split = splitDomain(name);
  if (split.domain !== undefined) {
    const bad = checkDomain(split.domain);
    if (bad)
      return problem(
        bad,
        'a registry is HOST[:PORT], e.g. ghcr.io or localhost:5000',
        0,
        split.domain.length,
      );
  }
  // Each path component, with its offset for the diagnostic.
  let offset = split.pathStart;
  for (const component of split.path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const lower = component.toLowerCase();
      const hint =
        component === ''
          ? 'remove the empty path component ("//" or a trailing "/")'
          : lower !== component && PATH_COMPONENT.test(lower)
            ? `repository names must be lowercase: write "${lower}"`
            : 'path components use lowercase letters and digits, separated by ".", "_", "__" or "-"';
      const message =
        component === ''
          ? `the repository name "${name}" has an empty path component`
          : `"${component}" is not a valid repository path component`;
      return problem(message, hint, offset, offset + component.length);
    }
    offset += component.length + 1;
  }
  let registry = split.domain ?? DEFAULT_REGISTRY;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  let repository = split.path;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) {
    // A bare 64-hex name is an image ID, not a repository: Docker refuses it to avoid confusion.
    if (split.domain === undefined && HEX64.test(repository)) {
      return problem(
        `"${repository}" looks like an image ID, not a repository name`,
        'to name an image by its digest, write NAME@sha256:…',
        0,
        name.length,
      );
    }
    repository = `library/${repository}`;
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return {
    ok: true,
    ref: { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) },
  };
}

/** Parses and normalises an image reference; throws StrataError('REF') naming the reference. */
export function parseImageRef(text: string): ImageRef {
  const result = parse(text);
  if (result.ok) return result.ref;
  throw new StrataError(
    'REF',
    `invalid image reference "${text}": ${result.problem.message}`,
    result.problem.hint,
  );
}

/** The problem in a reference (with offsets for a diagnostic), or undefined when it is valid. */
export function checkImageRef(text: string): RefProblem | undefined {
  const result = parse(text);
  return result.ok ? undefined : result.problem;
}

/** "docker.io/library/debian" */
export function repositoryName(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full, normalised reference: "docker.io/library/debian:bookworm[@sha256:…]". */
export function formatImageRef(ref: ImageRef): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The short form people type: "debian:bookworm", "org/tool:1", "ghcr.io/org/tool:1". */
export function familiarImageRef(ref: ImageRef): string {
  let name = repositoryName(ref);
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  }
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The same repository pinned to a manifest digest (the tag is kept for readability). */
export function withDigest(ref: ImageRef, digest: string): ImageRef {
  return { ...ref, digest };
}

/** What the registry API calls the reference: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
