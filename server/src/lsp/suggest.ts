// "Did you mean …" for unknown keys and values: the closest candidate by edit distance, when it is
// close enough to be a likely typo (as yaml-language-server and git do).

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev2: number[] = [];
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur.push(v);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n];
}

/** The candidate a typo most likely meant, or undefined when none is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c;
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // One edit for short words, two for longer ones: further than that is another word.
  const allowed = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/** Words people bring from other tools, and the key Strata uses for them. */
const synonyms: Record<string, string> = {
  source: 'src',
  destination: 'dest',
  target: 'dest',
  ro: 'readonly',
  read_only: 'readonly',
  'read-only': 'readonly',
  image: 'from',
  base: 'from',
  version: 'strata',
  environment: 'env',
  cwd: 'workdir',
  working_dir: 'workdir',
  args: 'command',
  script: 'command',
  memory_limit: 'memory',
  mem: 'memory',
  cpu: 'cpus',
  networking: 'network',
  volumes: 'mounts',
  apt_packages: 'apt',
  packages: 'apt',
  requirements: 'pip',
  index_url: 'index-url',
  indexUrl: 'index-url',
  output: 'outputs',
};

/** closest(), but first the key other tools use for the same thing. */
export function suggestKey(word: string, candidates: readonly string[]): string | undefined {
  const synonym = synonyms[word];
  if (synonym && candidates.includes(synonym)) return synonym;
  return closest(word, candidates);
}
