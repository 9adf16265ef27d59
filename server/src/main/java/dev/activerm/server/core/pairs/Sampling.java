package dev.activerm.server.core.pairs;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Seeded uniform sampling of indices, shared by candidate sampling and the RANDOM strategy. */
public final class Sampling {
  private Sampling() {}

  /** k distinct indices of [0, n), uniformly, by a seeded partial Fisher–Yates shuffle. */
  public static int[] sampleIndices(int n, int k, long seed) {
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < k; i++) {
      int j = i + random.nextInt(n - i);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return Arrays.copyOf(perm, k);
  }
}
