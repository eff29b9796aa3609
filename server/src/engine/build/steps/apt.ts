// The `apt` step: installs Debian/Ubuntu packages and records the exact version of every package
// the step installed or changed. With a lock, the versions are pinned through an APT preferences
// file (priority 1001), so apt resolves the same way as the first time (same automatic/manual
// marks) but can only pick the locked versions. Lists and caches are removed inside the step.
import type { AptPin } from '../../lock/types';

/** Exit code the script uses when the image has no apt-get, so we can say so plainly. */
export const NO_APT_EXIT = 97;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `apt-get` options for containers: no privilege drop to _apt (one id may be all there is). */
const APT = 'apt-get -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0 -o Acquire::Retries=3';

export function aptScript(packages: string[], pins?: AptPin[]): string {
  const lines = [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    `command -v apt-get >/dev/null 2>&1 || { echo "strata: this image has no apt-get" >&2; exit ${NO_APT_EXIT}; }`,
    'mkdir -p /.strata-step',
    "dpkg-query -W -f='${binary:Package}\\t${Version}\\n' > /.strata-step/before",
  ];
  // The pins live in the step's hand-over folder (removed before the layer is taken), named by
  // Dir::Etc::Preferences, so that nothing under /etc/apt is touched (its mtime would drift).
  let apt = APT;
  if (pins && pins.length) {
    const prefs = pins
      .map((p) => `Package: ${p.name.replace(/:.*$/, '')}\nPin: version ${p.version}\nPin-Priority: 1001\n`)
      .join('\n');
    lines.push(`printf '${prefs.replace(/'/g, `'\\''`)}' > /.strata-step/preferences`);
    apt += ' -o Dir::Etc::Preferences=/.strata-step/preferences';
  }
  lines.push(`${apt} update`);
  lines.push(
    `${apt} install -y --no-install-recommends ${pins?.length ? '--allow-downgrades ' : ''}${packages.map(shellQuote).join(' ')}`,
  );
  lines.push("dpkg-query -W -f='${binary:Package}\\t${Version}\\n' > /.strata-step/after");
  lines.push(`${APT} clean`);
  lines.push('rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin');
  return lines.join('\n') + '\n';
}

function parseList(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, version] = line.split('\t');
    if (name && version) m.set(name, version);
  }
  return m;
}

/** Packages that are new or at another version after the step, sorted by name. */
export function installedPackages(before: string, after: string): AptPin[] {
  const a = parseList(before);
  const out: AptPin[] = [];
  for (const [name, version] of parseList(after)) if (a.get(name) !== version) out.push({ name, version });
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}
