package dev.activerm.server.core.strategy;

import dev.activerm.server.core.pairs.PairList;
import java.util.Arrays;

/**
 * The responses a set of pairs touches, in ascending row order, and each pair's endpoints
 * as local indices into them. Everything pool-sized after this works on T touched rows.
 */
final class Touched {
  /** Pool rows, ascending. */
  final int[] rows;
  /** Local index of each list's endpoints, one array per input list. */
  final int[][] localA;
  final int[][] localB;

  private Touched(int[] rows, int[][] localA, int[][] localB) {
    this.rows = rows;
    this.localA = localA;
    this.localB = localB;
  }

  int size() {
    return rows.length;
  }

  /** Touched rows of several pair lists over a pool of poolRows rows. */
  static Touched of(int poolRows, PairList... lists) {
    long endpoints = 0;
    for (PairList l : lists) {
      endpoints += 2L * l.size();
    }
    int[][] la = new int[lists.length][];
    int[][] lb = new int[lists.length][];
    int[] rows;
    if (poolRows <= 4 * endpoints + 1024) {
      int[] local = new int[poolRows];
      Arrays.fill(local, -1);
      for (PairList l : lists) {
        for (int k = 0; k < l.size(); k++) {
          local[l.a()[k]] = 0;
          local[l.b()[k]] = 0;
        }
      }
      int t = 0;
      for (int r = 0; r < poolRows; r++) {
        if (local[r] == 0) {
          local[r] = t++;
        }
      }
      rows = new int[t];
      for (int r = 0; r < poolRows; r++) {
        if (local[r] >= 0) {
          rows[local[r]] = r;
        }
      }
      for (int i = 0; i < lists.length; i++) {
        la[i] = map(lists[i].a(), local);
        lb[i] = map(lists[i].b(), local);
      }
    } else {
      int[] all = new int[(int) endpoints];
      int n = 0;
      for (PairList l : lists) {
        System.arraycopy(l.a(), 0, all, n, l.size());
        n += l.size();
        System.arraycopy(l.b(), 0, all, n, l.size());
        n += l.size();
      }
      Arrays.sort(all);
      int t = 0;
      for (int i = 0; i < all.length; i++) {
        if (i == 0 || all[i] != all[i - 1]) {
          all[t++] = all[i];
        }
      }
      rows = Arrays.copyOf(all, t);
      for (int i = 0; i < lists.length; i++) {
        la[i] = search(lists[i].a(), rows);
        lb[i] = search(lists[i].b(), rows);
      }
    }
    return new Touched(rows, la, lb);
  }

  private static int[] map(int[] src, int[] local) {
    int[] out = new int[src.length];
    for (int k = 0; k < src.length; k++) {
      out[k] = local[src[k]];
    }
    return out;
  }

  private static int[] search(int[] src, int[] rows) {
    int[] out = new int[src.length];
    for (int k = 0; k < src.length; k++) {
      out[k] = Arrays.binarySearch(rows, src[k]);
    }
    return out;
  }
}
