package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.Parallel;
import java.util.Arrays;

/**
 * The k best of n scores, best first: higher score first, ties to the lower index (NaN
 * counts as -infinity), so the answer is deterministic. A bounded heap: O(n log k).
 */
public final class TopK {
  private TopK() {}

  /** true when (sa, ia) ranks before (sb, ib). */
  static boolean better(double sa, int ia, double sb, int ib) {
    sa = Double.isNaN(sa) ? Double.NEGATIVE_INFINITY : sa;
    sb = Double.isNaN(sb) ? Double.NEGATIVE_INFINITY : sb;
    return sa > sb || (sa == sb && ia < ib);
  }

  public static int[] top(double[] score, int k) {
    int n = score.length;
    k = Math.min(k, n);
    int[] heap = new int[k]; // min-heap by rank: heap[0] is the worst kept
    int size = 0;
    for (int i = 0; i < n; i++) {
      if (size < k) {
        heap[size] = i;
        siftUp(heap, size++, score);
      } else if (k > 0 && better(score[i], i, score[heap[0]], heap[0])) {
        heap[0] = i;
        siftDown(heap, size, score);
      }
    }
    Integer[] boxed = new Integer[size];
    for (int i = 0; i < size; i++) {
      boxed[i] = heap[i];
    }
    Arrays.sort(boxed, (x, y) -> x.equals(y) ? 0 : better(score[x], x, score[y], y) ? -1 : 1);
    int[] out = new int[size];
    for (int i = 0; i < size; i++) {
      out[i] = boxed[i];
    }
    return out;
  }

  /** Index of the best score among those not excluded (score -infinity counts as excluded only if all are). */
  public static int argmax(double[] score) {
    int parts = Math.max(1, Math.min(4 * Parallel.threads(), score.length / 65536));
    int[] best = new int[parts];
    Parallel.forRange(parts, (pf, pt) -> {
      for (int p = pf; p < pt; p++) {
        int from = (int) ((long) score.length * p / parts);
        int to = (int) ((long) score.length * (p + 1) / parts);
        int b = from;
        for (int i = from + 1; i < to; i++) {
          if (better(score[i], i, score[b], b)) {
            b = i;
          }
        }
        best[p] = b;
      }
    });
    int b = best[0];
    for (int p = 1; p < parts; p++) {
      if (better(score[best[p]], best[p], score[b], b)) {
        b = best[p];
      }
    }
    return b;
  }

  private static void siftUp(int[] h, int i, double[] s) {
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (better(s[h[parent]], h[parent], s[h[i]], h[i])) {
        swap(h, i, parent);
        i = parent;
      } else {
        return;
      }
    }
  }

  private static void siftDown(int[] h, int size, double[] s) {
    int i = 0;
    while (true) {
      int l = 2 * i + 1;
      int r = l + 1;
      int worst = i;
      if (l < size && better(s[h[worst]], h[worst], s[h[l]], h[l])) {
        worst = l;
      }
      if (r < size && better(s[h[worst]], h[worst], s[h[r]], h[r])) {
        worst = r;
      }
      if (worst == i) {
        return;
      }
      swap(h, i, worst);
      i = worst;
    }
  }

  private static void swap(int[] h, int i, int j) {
    int t = h[i];
    h[i] = h[j];
    h[j] = t;
  }
}
