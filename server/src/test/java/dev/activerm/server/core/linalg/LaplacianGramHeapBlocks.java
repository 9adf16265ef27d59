package dev.activerm.server.core.linalg;

import dev.activerm.server.core.errors.CancelledException;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import org.bytedeco.javacpp.DoublePointer;

/**
 * LaplacianGram.accumulate as it was before issue 13's session 10: each block of Phi (as
 * double) and of Y = L Phi built in T x h heap arrays, then copied into freshly allocated
 * native blocks. Kept as the reference the row-wise fill must match bit for bit
 * (LaplacianGramTest) and as the "before" of LaplacianGramBench.
 */
final class LaplacianGramHeapBlocks {
  private static final int ROWS_PER_PART = 64;

  private LaplacianGramHeapBlocks() {}

  static void accumulate(float[] phi, int t, int h, int[] ia, int[] ib, double[] weight, double[] out,
      BooleanSupplier cancelled, int blockDoubles, int panel) {
    int p = ia.length;
    if (p == 0) {
      return;
    }
    // CSR of the symmetric adjacency: each pair appears in both endpoint rows.
    int[] start = new int[t + 1];
    for (int k = 0; k < p; k++) {
      start[ia[k] + 1]++;
      start[ib[k] + 1]++;
    }
    for (int i = 0; i < t; i++) {
      start[i + 1] += start[i];
    }
    int[] fill = Arrays.copyOf(start, t);
    int[] nbr = new int[2 * p];
    double[] wt = new double[2 * p];
    for (int k = 0; k < p; k++) {
      double wk = weight[k];
      int a = ia[k];
      int b = ib[k];
      nbr[fill[a]] = b;
      wt[fill[a]++] = wk;
      nbr[fill[b]] = a;
      wt[fill[b]++] = wk;
    }
    int block = Math.max(1, Math.min(t, blockDoubles / h));
    double[] x = new double[block * h];
    double[] y = new double[block * h];
    double[] f = new double[h * h];
    try (DoublePointer xp = new DoublePointer((long) block * h);
        DoublePointer yp = new DoublePointer((long) block * h);
        DoublePointer fp = new DoublePointer((long) h * h)) {
      fp.put(f, 0, h * h);
      for (int first = 0; first < t; first += block) {
        CancelledException.checkSelection(cancelled, "Fisher accumulation");
        int from0 = first;
        int n = Math.min(block, t - first);
        int parts = Math.max(1, Math.min(4 * Parallel.threads(), n / ROWS_PER_PART));
        // Rows from0 .. from0 + n of Phi (as double) and of Y = (D - A) Phi.
        Parallel.forParts(parts, part -> {
          int lo = (int) ((long) n * part / parts);
          int hi = (int) ((long) n * (part + 1) / parts);
          for (int r = lo; r < hi; r++) {
            int i = from0 + r;
            int oy = r * h;
            int oi = i * h;
            double deg = 0;
            for (int j = 0; j < h; j++) {
              y[oy + j] = 0;
            }
            for (int e = start[i]; e < start[i + 1]; e++) {
              double we = wt[e];
              deg += we;
              int o = nbr[e] * h;
              for (int j = 0; j < h; j++) {
                y[oy + j] -= we * phi[o + j];
              }
            }
            for (int j = 0; j < h; j++) {
              double v = phi[oi + j];
              x[oy + j] = v;
              y[oy + j] += deg * v;
            }
          }
        });
        xp.put(x, 0, n * h);
        yp.put(y, 0, n * h);
        if (panel == 0) {
          Blas.dgemm(true, false, h, h, n, 1.0, xp, h, yp, h, 1.0, fp, h);
        } else {
          lowerPanels(xp, yp, fp, n, h, panel);
        }
      }
      fp.get(f, 0, h * h);
    }
    if (panel == 0) {
      for (int i = 0; i < h; i++) {
        for (int j = 0; j < h; j++) {
          out[i * h + j] += 0.5 * (f[i * h + j] + f[j * h + i]);
        }
      }
      return;
    }
    // f holds F's lower triangle (and the diagonal panels' upper parts, ignored): mirror it.
    for (int i = 0; i < h; i++) {
      for (int j = 0; j <= i; j++) {
        double v = f[i * h + j];
        out[i * h + j] += v;
        if (j < i) {
          out[j * h + i] += v;
        }
      }
    }
  }


  private static void lowerPanels(DoublePointer xp, DoublePointer yp, DoublePointer fp, int n, int h, int panel) {
    for (int r0 = 0; r0 < h; r0 += panel) {
      int r1 = Math.min(h, r0 + panel);
      Blas.dgemm(true, false, r1 - r0, r1, n, 1.0, xp.position(r0), h, yp.position(0), h, 1.0,
          fp.position((long) r0 * h), h);
    }
    xp.position(0);
    fp.position(0);
  }
}
