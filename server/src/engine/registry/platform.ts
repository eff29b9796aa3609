// Platforms ("linux/amd64", "linux/arm64/v8") and choosing one manifest from an index, as
// containerd's platforms package does: os and architecture must match; the variant must match when
// asked for, with arm64's "v8" the same as no variant.
import { StrataError } from '../errors';
import type { Descriptor, ImageIndex, Platform } from '../image/types';

const NODE_ARCH: Record<string, { architecture: string; variant?: string }> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
};

/** The platform this process runs on. */
export function hostPlatform(): Platform {
  const a = NODE_ARCH[process.arch] ?? { architecture: process.arch };
  return { os: 'linux', ...a };
}

/** Parses "os/arch[/variant]"; `where` names the source for the error. */
export function parsePlatform(text: string, where = 'platform'): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new StrataError(
      'USAGE',
      `${where}: "${text}" is not a platform`,
      'write OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8',
    );
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture: normaliseArch(architecture), ...(variant ? { variant } : {}) };
}

function normaliseArch(arch: string): string {
  if (arch === 'x86_64' || arch === 'x86-64') return 'amd64';
  if (arch === 'aarch64') return 'arm64';
  return arch;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function variantOf(p: Platform): string {
  const v = p.variant ?? '';
  return p.architecture === 'arm64' && v === 'v8' ? '' : v;
}

export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || normaliseArch(have.architecture) !== want.architecture) return false;
  if (want.variant === undefined) return true;
  return variantOf(have) === variantOf(want);
}

/** The manifest for `want` in an index, or an error listing what the index offers. */
export function selectPlatform(index: ImageIndex, want: Platform, where: string): Descriptor {
  const matches = index.manifests.filter((m) => platformMatches(m.platform, want));
  // Without a requested variant prefer the plain or most common one (arm/v7 before arm/v6), as
  // the order of the index says.
  const chosen = matches[0];
  if (chosen) return chosen;
  const offered = index.manifests
    .map((m) => (m.platform ? formatPlatform(m.platform) : undefined))
    .filter((p): p is string => p !== undefined && p !== 'unknown/unknown');
  throw new StrataError(
    'REF',
    `${where} has no image for ${formatPlatform(want)}; it offers ${offered.length ? offered.join(', ') : 'no platforms'}`,
    offered.length
      ? `choose one of them with "platform:" in strata.yaml or --platform`
      : 'the index is empty or unusable',
  );
}
