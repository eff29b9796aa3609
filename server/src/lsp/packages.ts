// Syntax of package names as the package managers accept them, so that a typo is caught while
// typing instead of three minutes into a build.

export interface AptPackage {
  name: string;
  version?: string;
  arch?: string;
  release?: string;
}

// Debian policy §5.6.1 (names) and §5.6.12 (versions); apt's `pkg:arch`, `pkg=version` and
// `pkg/release` forms.
const aptName = /^[a-z0-9][a-z0-9+.-]+$/;
const aptVersion = /^(?:\d+:)?[A-Za-z0-9][A-Za-z0-9.+~-]*(?:-[A-Za-z0-9.+~]+)?$/;

export function parseApt(text: string): { pkg: AptPackage } | { error: string; fix?: string } {
  let rest = text.trim();
  const pkg: AptPackage = { name: '' };
  const eq = rest.indexOf('=');
  if (eq >= 0) {
    pkg.version = rest.slice(eq + 1);
    rest = rest.slice(0, eq);
    if (!aptVersion.test(pkg.version)) {
      return {
        error: `'${pkg.version}' is not a Debian version (in '${text}'); e.g. python3-numpy=1:1.24.2-1`,
      };
    }
  }
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    pkg.release = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(pkg.release))
      return { error: `'${pkg.release}' is not a release name (in '${text}')` };
  }
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    pkg.arch = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[a-z0-9-]+$/.test(pkg.arch))
      return { error: `'${pkg.arch}' is not an architecture (in '${text}')` };
  }
  pkg.name = rest;
  if (/\s/.test(text.trim())) {
    return {
      error: `'${text}' holds several words; list one package per item: [${text.trim().split(/\s+/).join(', ')}]`,
    };
  }
  if (rest.startsWith('-'))
    return { error: `'${text}' is an option, not a package; apt steps take package names only` };
  if (!aptName.test(rest)) {
    if (/[A-Z]/.test(rest) && aptName.test(rest.toLowerCase())) {
      return {
        error: `Debian package names are lower case: '${rest.toLowerCase()}'`,
        fix: text.trim().replace(rest, rest.toLowerCase()),
      };
    }
    return {
      error: `'${rest}' is not a Debian package name (lower-case letters, digits, + - . and at least two characters)`,
    };
  }
  return { pkg };
}

export interface PipRequirement {
  name: string;
  extras: string[];
  /** The version specifier as written, e.g. `==1.4.1` or `>=2,<3`. */
  specifier: string;
  /** True when the specifier names exactly one version (== without a wildcard, or ===). */
  pinned: boolean;
  url?: string;
}

// PEP 508 names, extras and version specifiers; PEP 440 versions (loosely: pip gives the details).
const pipName = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const pipClause = /^\s*(===|==|!=|~=|<=|>=|<|>)\s*([A-Za-z0-9.*+!_-]+)\s*$/;

export function parsePip(text: string): { req: PipRequirement } | { error: string; fix?: string } {
  let rest = text.trim();
  if (rest.startsWith('-')) {
    return {
      error: `'${text}' is a pip option; pip steps take requirement specifiers. For a requirements file, copy it and install it with a run step`,
    };
  }
  const marker = rest.indexOf(';');
  if (marker >= 0) rest = rest.slice(0, marker).trim();
  const at = rest.indexOf(' @ ');
  let url: string | undefined;
  if (at >= 0) {
    url = rest.slice(at + 3).trim();
    rest = rest.slice(0, at).trim();
    if (!/^[a-z+]+:\/\/\S+$/.test(url)) return { error: `'${url}' is not a URL (in '${text}')` };
  }
  const m = /^([^[\s=<>!~]+)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(rest);
  if (!m) return { error: `'${text}' is not a pip requirement; e.g. numpy==1.26.4` };
  const [, name, extras, spec] = m;
  if (!pipName.test(name)) {
    return { error: `'${name}' is not a Python package name (letters, digits, . _ - inside)` };
  }
  const extraList = extras === undefined ? [] : extras.split(',').map((e) => e.trim());
  for (const e of extraList)
    if (!pipName.test(e)) return { error: `'${e}' is not an extra name (in '${text}')` };
  const clauses = spec.trim() === '' ? [] : spec.split(',');
  if (url && clauses.length) return { error: `'${text}' has both a URL and a version; keep one` };
  let pinned = false;
  for (const c of clauses) {
    const cm = pipClause.exec(c);
    if (!cm) {
      if (/^\s*=\s*[^=]/.test(c))
        return {
          error: `'${text}': pip pins versions with ==, e.g. ${name}==${c.replace(/^\s*=\s*/, '')}`,
          fix: text.trim().replace(/(?<![=<>!~])=(?!=)/, '=='),
        };
      return { error: `'${c.trim()}' is not a version specifier (in '${text}'); e.g. ==1.4.1 or >=2,<3` };
    }
    if ((cm[1] === '==' && !cm[2].includes('*')) || cm[1] === '===') pinned = true;
  }
  return { req: { name, extras: extraList, specifier: spec.trim(), pinned, url } };
}
