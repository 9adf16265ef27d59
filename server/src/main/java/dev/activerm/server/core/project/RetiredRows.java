package dev.activerm.server.core.project;

import java.util.Arrays;

/** Pages of pool rows for ListResponses, with or without the retired ones. */
final class RetiredRows {
  private RetiredRows() {}

  /** Up to size rows from row `from` (below total), skipping retired rows when asked. */
  static int[] page(ResponseIndex index, int from, int total, int size, boolean excludeRetired) {
    int[] rows = new int[Math.min(size, total - from)];
    int n = 0;
    for (int r = from; r < total && n < rows.length; r++) {
      if (!excludeRetired || !index.isRetired(r)) {
        rows[n++] = r;
      }
    }
    return n == rows.length ? rows : Arrays.copyOf(rows, n);
  }

  /** The first row at or after `from` that is not retired, or total. */
  static int nextLive(ResponseIndex index, int from, int total) {
    int r = from;
    while (r < total && index.isRetired(r)) {
      r++;
    }
    return r;
  }
}
