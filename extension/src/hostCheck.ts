// First-run checks (as rust-analyzer's bootstrap.ts checks its server binary): the bundled
// strata-box runs, the kernel allows unprivileged user namespaces, and overlayfs can be mounted in
// one. Facts are gathered once; diagnoseHost() turns them into at most one actionable problem.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface HostFacts {
  helperPath: string;
  /** undefined when it ran; otherwise why it did not (ENOENT, EACCES, exit status, signal). */
  helperError?: string;
  kernelRelease: string;
  isRoot: boolean;
  /** /proc/sys/user/max_user_namespaces, when readable. */
  maxUserNamespaces?: number;
  /** /proc/sys/kernel/unprivileged_userns_clone (Debian's knob), when it exists. */
  unprivilegedUsernsClone?: number;
  /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 23.10+), when it exists. */
  apparmorRestrictsUserns?: number;
  overlayInKernel: boolean;
}

export interface HostProblem {
  what: string;
  fix: string;
  /** A setting that fixes it, offered as a button. */
  setting?: string;
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

/** Runs `strata-box --help`: it proves the file exists, is executable and links on this machine. */
function probeHelper(helper: string): Promise<string | undefined> {
  try {
    const st = fs.statSync(helper);
    // A .vsix does not always keep the execute bit; restore it on our own bundled file.
    if ((st.mode & 0o111) === 0) fs.chmodSync(helper, st.mode | 0o755);
  } catch (e) {
    return Promise.resolve((e as NodeJS.ErrnoException).code ?? String(e));
  }
  return new Promise((resolve) => {
    execFile(helper, ['--help'], { timeout: 10000 }, (error) => {
      if (!error) return resolve(undefined);
      const e = error as NodeJS.ErrnoException & { signal?: string; code?: string | number };
      if (typeof e.code === 'number') return resolve(e.code === 0 ? undefined : `exit status ${e.code}`);
      resolve(e.signal ? `killed by ${e.signal}` : (e.code ?? e.message));
    });
  });
}

export async function gatherHostFacts(helperPath: string): Promise<HostFacts> {
  let overlayInKernel = false;
  try {
    overlayInKernel = /\toverlay$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    /* no /proc: reported as missing overlay */
  }
  return {
    helperPath,
    helperError: await probeHelper(helperPath),
    kernelRelease: os.release(),
    isRoot: process.getuid?.() === 0,
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserns: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    overlayInKernel,
  };
}

/** "6.1.0-18-amd64" → [6, 1]. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** The first thing that stops Strata from building here, in words with the fix; or undefined. */
export function diagnoseHost(f: HostFacts): HostProblem | undefined {
  if (process.platform !== 'linux')
    return {
      what: `Strata builds and runs containers with Linux namespaces; this is ${process.platform}`,
      fix: 'open the folder on a Linux machine (VS Code Remote - SSH or WSL 2 works)',
    };
  if (f.helperError === 'ENOENT')
    return {
      what: `the helper strata-box was not found at ${f.helperPath}`,
      fix: 'reinstall the extension, or set "strata.helperPath" to a strata-box built with `make -C native`',
      setting: 'strata.helperPath',
    };
  if (f.helperError)
    return {
      what: `the helper ${f.helperPath} does not run (${f.helperError})`,
      fix:
        f.helperError === 'EACCES'
          ? `make it executable (chmod +x ${f.helperPath}) or set "strata.helperPath"`
          : 'it is built for linux-x64 with glibc; on another platform build it with `make -C native` and set "strata.helperPath"',
      setting: 'strata.helperPath',
    };
  if (f.maxUserNamespaces === 0)
    return {
      what: 'user namespaces are disabled (user.max_user_namespaces = 0)',
      fix: 'ask the administrator to run `sysctl -w user.max_user_namespaces=15000` (and set it in /etc/sysctl.d)',
    };
  if (!f.isRoot && f.unprivilegedUsernsClone === 0)
    return {
      what: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)',
      fix: 'ask the administrator to run `sysctl -w kernel.unprivileged_userns_clone=1` (and set it in /etc/sysctl.d)',
    };
  if (!f.isRoot && f.apparmorRestrictsUserns === 1)
    return {
      what: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)',
      fix: 'ask the administrator for an AppArmor profile allowing "userns" for strata-box, or `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`',
    };
  if (!f.overlayInKernel)
    return {
      what: 'the kernel has no overlay file system loaded',
      fix: 'ask the administrator to run `modprobe overlay` (and add "overlay" to /etc/modules)',
    };
  const [major, minor] = kernelVersion(f.kernelRelease);
  if (!f.isRoot && (major < 5 || (major === 5 && minor < 11)))
    return {
      what: `kernel ${f.kernelRelease} cannot mount overlayfs inside a user namespace (that needs Linux 5.11 or newer)`,
      fix: 'use a machine with Linux 5.11 or newer (Debian 12, Ubuntu 22.04, RHEL 9 have it)',
    };
  return undefined;
}

/** One line for the log and the "Check System Requirements" answer. */
export function describeHost(f: HostFacts): string {
  return (
    `strata-box ${f.helperPath}: ${f.helperError ?? 'runs'}; kernel ${f.kernelRelease}; ` +
    `max_user_namespaces ${f.maxUserNamespaces ?? 'n/a'}; overlay ${f.overlayInKernel ? 'yes' : 'no'}; ` +
    `${f.isRoot ? 'root' : 'unprivileged'}`
  );
}
