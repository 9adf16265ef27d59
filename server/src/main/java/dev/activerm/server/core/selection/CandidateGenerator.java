package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.pairs.Sampling;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;

/**
 * Builds candidate sets. When the eligible set is at most twice the cap it is enumerated
 * (cheap: that many pairs fit anyway) and, if over the cap, sub-sampled with a seeded
 * partial Fisher–Yates shuffle. Otherwise pairs are drawn uniformly by rejection
 * (duplicates and excluded pairs rejected; acceptance >= 1/2), holding only the sampled
 * pairs in a hash set: memory O(cap), never O(R^2).
 */
public final class CandidateGenerator {
  private CandidateGenerator() {}

  /** All unordered pairs of distinct rows 0..rows-1 (a < b), minus excluded, capped. */
  public static PairList crossPrompt(int rows, long cap, LongPredicate excluded, long numExcluded, long seed,
      BooleanSupplier cancelled) {
    return crossPrompt(rows, null, cap, excluded, numExcluded, seed, cancelled);
  }

  /**
   * All unordered pairs of distinct rows among allowedRows (ascending, distinct pool rows),
   * minus excluded, capped: as {@link #crossPrompt(int, long, LongPredicate, long, long,
   * BooleanSupplier)} over the sample indices 0..m-1, each mapped to allowedRows[index]. So
   * allowedRows = {0, 1, ..., rows-1} gives exactly the unrestricted result for a seed.
   * numExcluded may over-count (e.g. exclusions outside the allowed rows): it only decides
   * between enumerating and sampling.
   */
  public static PairList crossPrompt(int[] allowedRows, long cap, LongPredicate excluded, long numExcluded,
      long seed, BooleanSupplier cancelled) {
    return crossPrompt(allowedRows.length, allowedRows, cap, excluded, numExcluded, seed, cancelled);
  }

  /** rowAt maps a sample index 0..m-1 to its pool row; null: the identity. */
  private static PairList crossPrompt(int m, int[] rowAt, long cap, LongPredicate excluded, long numExcluded,
      long seed, BooleanSupplier cancelled) {
    long total = (long) m * (m - 1) / 2;
    if (total <= 2 * cap + numExcluded) {
      // Enumerate everything eligible: total is small here.
      long[] keys = new long[(int) total];
      int n = 0;
      for (int i = 0; i < m; i++) {
        int a = rowAt == null ? i : rowAt[i];
        for (int j = i + 1; j < m; j++) {
          long k = PairKeys.key(a, rowAt == null ? j : rowAt[j]);
          if (!excluded.test(k)) {
            keys[n++] = k;
          }
        }
      }
      return subsample(keys, n, cap, seed);
    }
    return sampleByRejection(cap, seed, excluded, cancelled, random -> {
      int x = random.nextInt(m);
      int y = random.nextInt(m);
      if (x == y) {
        return REJECT;
      }
      return rowAt == null ? PairKeys.key(x, y) : PairKeys.key(rowAt[x], rowAt[y]);
    });
  }

  /**
   * All pairs of rows sharing a prompt (a < b), minus excluded, capped. promptOfRow gives
   * each row's dense prompt index (0..numPrompts-1), or -1 for a row that is not a
   * candidate (its prompt was not asked for); rows with -1 change nothing else, so marking
   * no row gives the same result as before for a seed.
   */
  public static PairList withinPrompt(int rows, int[] promptOfRow, int numPrompts, long cap, LongPredicate excluded,
      long numExcluded, long seed, BooleanSupplier cancelled) {
    // Rows grouped by prompt (counting sort, rows ascending within a group).
    int[] start = new int[numPrompts + 1];
    for (int r = 0; r < rows; r++) {
      if (promptOfRow[r] >= 0) {
        start[promptOfRow[r] + 1]++;
      }
    }
    for (int p = 0; p < numPrompts; p++) {
      start[p + 1] += start[p];
    }
    int[] fill = Arrays.copyOf(start, numPrompts);
    int[] grouped = new int[start[numPrompts]];
    for (int r = 0; r < rows; r++) {
      if (promptOfRow[r] >= 0) {
        grouped[fill[promptOfRow[r]]++] = r;
      }
    }
    // cum[p] = pairs in prompts before p.
    long[] cum = new long[numPrompts + 1];
    for (int p = 0; p < numPrompts; p++) {
      long m = start[p + 1] - start[p];
      cum[p + 1] = cum[p] + m * (m - 1) / 2;
    }
    long total = cum[numPrompts];
    if (total <= 2 * cap + numExcluded) {
      long[] keys = new long[(int) total];
      int n = 0;
      for (int p = 0; p < numPrompts; p++) {
        for (int i = start[p]; i < start[p + 1]; i++) {
          for (int j = i + 1; j < start[p + 1]; j++) {
            long k = PairKeys.key(grouped[i], grouped[j]);
            if (!excluded.test(k)) {
              keys[n++] = k;
            }
          }
        }
      }
      return subsample(keys, n, cap, seed);
    }
    return sampleByRejection(cap, seed, excluded, cancelled, random -> {
      long idx = random.nextLong(total);
      int p = Arrays.binarySearch(cum, idx);
      p = p >= 0 ? p : -p - 2; // last p with cum[p] <= idx
      while (cum[p + 1] <= idx) {
        p++; // skip prompts with no pairs (equal cum values)
      }
      long t = idx - cum[p];
      // t-th pair (i < j) of the group in row-major order of the upper triangle:
      // solve for i by the quadratic formula, then fix up rounding.
      int m = start[p + 1] - start[p];
      double mm = 2.0 * m - 1;
      int i = (int) Math.floor((mm - Math.sqrt(mm * mm - 8.0 * t)) / 2);
      i = Math.max(0, Math.min(m - 2, i));
      while (i > 0 && rowStart(i, m) > t) {
        i--;
      }
      while (i < m - 2 && rowStart(i + 1, m) <= t) {
        i++;
      }
      int j = (int) (i + 1 + (t - rowStart(i, m)));
      return PairKeys.key(grouped[start[p] + i], grouped[start[p] + j]);
    });
  }

  /** A candidate draw: a pair key, or {@link #REJECT} to draw again. */
  @FunctionalInterface
  private interface PairDraw {
    long next(SplittableRandom random);
  }

  private static final long REJECT = -1; // pair keys are >= 0

  /**
   * Draws cap distinct, non-excluded pairs uniformly by rejection; memory O(cap). The draw
   * decides the distribution; duplicates and excluded pairs are rejected here.
   */
  private static PairList sampleByRejection(
      long cap, long seed, LongPredicate excluded, BooleanSupplier cancelled, PairDraw draw) {
    SplittableRandom random = new SplittableRandom(seed);
    int target = (int) cap;
    LongHashSet seen = new LongHashSet(target);
    int[] a = new int[target];
    int[] b = new int[target];
    int n = 0;
    while (n < target) {
      if ((n & 0xffff) == 0) {
        CancelledException.checkSelection(cancelled, "candidate sampling");
      }
      long k = draw.next(random);
      if (k == REJECT || excluded.test(k) || !seen.add(k)) {
        continue;
      }
      a[n] = PairKeys.lo(k);
      b[n] = PairKeys.hi(k);
      n++;
    }
    return new PairList(a, b);
  }

  /** Pairs before row i of the upper triangle of an m x m matrix (without diagonal). */
  private static long rowStart(int i, int m) {
    return (long) i * (2L * m - i - 1) / 2;
  }

  /** Keeps n keys if n <= cap, else a seeded uniform subset of cap (in original order). */
  static PairList subsample(long[] keys, int n, long cap, long seed) {
    int keep = (int) Math.min(n, cap);
    long[] chosen;
    if (keep == n) {
      chosen = Arrays.copyOf(keys, n);
    } else {
      int[] idx = Sampling.sampleIndices(n, keep, seed);
      Arrays.sort(idx);
      chosen = new long[keep];
      for (int i = 0; i < keep; i++) {
        chosen[i] = keys[idx[i]];
      }
    }
    int[] a = new int[keep];
    int[] b = new int[keep];
    for (int i = 0; i < keep; i++) {
      a[i] = PairKeys.lo(chosen[i]);
      b[i] = PairKeys.hi(chosen[i]);
    }
    return new PairList(a, b);
  }
}
