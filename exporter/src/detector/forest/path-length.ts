// c(n): the average path length of an unsuccessful search in a binary search tree of n points (Liu et al. 2008),
// used to normalise path lengths and to account for the unbuilt subtree below a leaf holding n points.

const EULER_GAMMA = 0.5772156649015329;
const EXACT_LIMIT = 1024;

/** Harmonic numbers H(i) for i < EXACT_LIMIT, exact sums (the ln approximation is poor for small i). */
const HARMONIC = (() => {
  const h = new Float64Array(EXACT_LIMIT);
  for (let i = 1; i < EXACT_LIMIT; i++) h[i] = (h[i - 1] ?? 0) + 1 / i;
  return h;
})();

function harmonic(i: number): number {
  if (i < EXACT_LIMIT) return HARMONIC[i] ?? 0;
  // Asymptotic expansion; error < 1e-12 at i >= 1024.
  return Math.log(i) + EULER_GAMMA + 1 / (2 * i) - 1 / (12 * i * i);
}

/** c(n) = 2 H(n-1) - 2 (n-1) / n, with c(0) = c(1) = 0 and c(2) = 1. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  return 2 * harmonic(n - 1) - (2 * (n - 1)) / n;
}
