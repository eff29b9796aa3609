// Syntax of the small values a spec holds: sizes, CPU counts, names, paths, platforms.
// Each check returns an explanation in the user's terms, or undefined when the value is fine.

const binary: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, kib: 1, mib: 2, gib: 3, tib: 4 };
const decimal: Record<string, number> = { kb: 1, mb: 2, gb: 3, tb: 4 };

/**
 * A memory size in bytes: an integer number of bytes, or a number with a unit. KiB/MiB/GiB/TiB and
 * the bare K/M/G/T that Slurm and Docker use are powers of 1024; kB/MB/GB/TB are powers of 1000.
 */
export function parseMemory(text: string): { bytes: number } | { error: string } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!m) {
    return { error: `'${text}' is not a memory size; write a number with a unit, e.g. 512MiB or 4GiB` };
  }
  const value = Number(m[1]);
  const unit = m[2].toLowerCase();
  let bytes: number;
  if (unit === '' || unit === 'b') bytes = value;
  else if (unit in binary) bytes = value * 1024 ** binary[unit];
  else if (unit in decimal) bytes = value * 1000 ** decimal[unit];
  else {
    return {
      error: `unknown unit '${m[2]}' in '${text}'; use B, KiB, MiB, GiB or TiB (or K, M, G, T, which mean the same)`,
    };
  }
  bytes = Math.round(bytes);
  if (bytes < 4 * 1024 * 1024) {
    return {
      error: `${text} is ${bytes} bytes, too little to start a process; did you mean ${m[1]}MiB or ${m[1]}GiB?`,
    };
  }
  return { bytes };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** A CPU count: a positive number, fractions allowed (0.5 is half of one CPU's time). */
export function checkCpus(value: number): string | undefined {
  if (!Number.isFinite(value) || value <= 0) return `cpus must be a positive number such as 2 or 0.5`;
  if (value > 4096) return `cpus: ${value} is more CPUs than any machine has`;
  if (Math.round(value * 100) !== value * 100) return `cpus is counted in hundredths; write e.g. 1.25`;
  return undefined;
}

/** POSIX-portable environment variable names, which every shell can expand. */
export function checkEnvName(name: string): string | undefined {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined;
  if (name === '') return 'an environment variable needs a name';
  if (/^[0-9]/.test(name))
    return `environment variable '${name}' starts with a digit, which shells cannot expand`;
  return `environment variable '${name}' may use only letters, digits and _ (shells cannot expand other names)`;
}

/** The local image name (strata/NAME): lower case, as OCI repository names must be. */
export function checkImageName(name: string): string | undefined {
  if (/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(name)) return undefined;
  if (/[A-Z]/.test(name))
    return `name '${name}' must be lower case (it becomes the image name strata/${suggestImageName(name)})`;
  return `name '${name}' may hold lower-case letters, digits and single . _ - between them (it becomes the image name strata/NAME)`;
}

export function suggestImageName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .replace(/[._-]{2,}/g, '-');
  return s || 'environment';
}

export function checkWorkloadName(name: string): string | undefined {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return undefined;
  return `workload name '${name}' may hold letters, digits, . _ - (it is typed on the command line: strata run NAME)`;
}

const knownArch = ['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'mips64le'];

/** os/arch[/variant] as in OCI image indexes, e.g. linux/amd64 or linux/arm/v7. */
export function checkPlatform(text: string): string | undefined {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    return `platform '${text}' should be os/arch, e.g. linux/amd64 or linux/arm64`;
  }
  if (parts[0] !== 'linux') return `platform '${text}': Strata builds and runs Linux images only`;
  if (!knownArch.includes(parts[1])) {
    return `unknown architecture '${parts[1]}'; known: ${knownArch.join(', ')} (x86_64 is amd64, aarch64 is arm64)`;
  }
  return undefined;
}

/** A path inside the container. */
export function checkContainerPath(text: string, what: string): string | undefined {
  if (!text.startsWith('/'))
    return `${what} '${text}' must be an absolute path inside the container, e.g. /${text.replace(/^\.?\/*/, '')}`;
  if (text.includes('\0')) return `${what} contains a NUL character`;
  return undefined;
}

/** A path on the host, relative to the spec's folder, so the spec works on another machine. */
export function checkHostPath(text: string, what: string): { error?: string; warning?: string } {
  if (text === '') return { error: `${what} is empty` };
  if (text.startsWith('/')) {
    return {
      error: `${what} '${text}' is absolute; write it relative to the spec's folder so the spec works on another machine`,
    };
  }
  if (text.startsWith('~'))
    return { error: `${what} '${text}': ~ is not expanded; write a path relative to the spec's folder` };
  let depth = 0;
  for (const part of text.split('/')) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) {
      return {
        warning: `${what} '${text}' leaves the spec's folder; a collaborator who gets only this folder cannot build it`,
      };
    }
  }
  return {};
}
