package dev.activerm.server.core.linalg;

import dev.activerm.server.core.errors.CancelledException;
import java.nio.DoubleBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.DoublePointer;
import java.util.function.BooleanSupplier;

/**
 * sum_k weight_k z_k z_k^T with z_k = phi_a - phi_b, without forming any z_k: it equals
 * Phi^T L_G Phi with L_G = D - A the weighted graph Laplacian of the pairs over the rows.
 * One sparse-dense product Y = L_G Phi (CSR, parallel over rows), then one GEMM Phi^T Y:
 * P*h + T*h^2 flops, not P*h^2.
 *
 * <p>Both products run in double, block of rows by block of rows. F is PSD only up to its
 * rounding, and on low-rank features (an MLP of width 512 on 2-D inputs) float32 rounding
 * (about 1e-6 of max |F|) is larger than the default ridge 1e-6 * trace / h, so Cholesky of
 * eps I + F failed (issue 12). Double rounding is ~1e-16 relative; the blocks keep the double
 * copies at {@link #BLOCK_DOUBLES} each instead of a T x h array.
 *
 * <p>From h = {@link #LOWER_FROM_H} on only the lower triangle of Phi^T Y is computed, one GEMM
 * per panel of {@link #PANEL} rows of F against the columns up to the panel's end: (q + 1) / 2q
 * of the full product's T h^2 flops for q panels (56% at h = 4 096), the exact same dot
 * products, and F is then exactly symmetric. The panels are few and large on purpose: many
 * small threaded GEMMs ran slower than the full product under load (issue 13's lapack
 * follow-up). Below that width F is the full product averaged with its transpose, as before,
 * so every smaller-h result (the golden test's) stays bit-for-bit.
 */
public final class LaplacianGram {
  /** Doubles per block array (Phi and Y rows of one block): 32 MiB each. */
  static final int BLOCK_DOUBLES = 1 << 22;
  private static final int ROWS_PER_PART = 64;
  /**
   * From this width on only F's lower triangle is computed (see the class comment): at
   * h = 2 048 and 4 096 it was faster on one and on two OpenBLAS threads; at 1 024 faster on one
   * thread but slower on two under load 17-20 (docs/benchmarks.md, "Lower-triangle F").
   */
  static final int LOWER_FROM_H = 2048;
  /** Rows of F per lower-triangle GEMM. */
  static final int PANEL = 512;

  private LaplacianGram() {}

  /** Adds sum_k weight_k z_k z_k^T (h x h, row-major, double) into out; phi has t rows. */
  public static void accumulate(float[] phi, int t, int h, int[] ia, int[] ib, double[] weight, double[] out,
      BooleanSupplier cancelled) {
    accumulate(phi, t, h, ia, ib, weight, out, cancelled, BLOCK_DOUBLES, h >= LOWER_FROM_H ? PANEL : 0);
  }

  /**
   * As above with the block size (doubles per block array) and the panel height (0: the full
   * product) as arguments, so tests can reach several blocks and ragged panels at small sizes.
   */
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
    double[] f = new double[h * h];
    // Each row of Phi (as double) and of Y = (D - A) Phi is built in a row of heap scratch and
    // copied straight into the native blocks the GEMM reads: no T x h heap copy of either, and
    // the blocks are reused across calls (NativeScratch). Same values in the same places as
    // when whole blocks were built on the heap and then copied over, so the same bits.
    DoublePointer xp = NativeScratch.take((long) block * h);
    DoublePointer yp = NativeScratch.take((long) block * h);
    try (DoublePointer fp = new DoublePointer((long) h * h)) {
      fp.put(f, 0, h * h);
      for (int first = 0; first < t; first += block) {
        CancelledException.checkSelection(cancelled, "Fisher accumulation");
        int from0 = first;
        int n = Math.min(block, t - first);
        int parts = Math.max(1, Math.min(4 * Parallel.threads(), n / ROWS_PER_PART));
        Parallel.forParts(parts, part -> {
          int lo = (int) ((long) n * part / parts);
          int hi = (int) ((long) n * (part + 1) / parts);
          DoubleBuffer xb = xp.asBuffer();
          DoubleBuffer yb = yp.asBuffer();
          double[] x = new double[h];
          double[] y = new double[h];
          for (int r = lo; r < hi; r++) {
            int i = from0 + r;
            int oi = i * h;
            double deg = 0;
            Arrays.fill(y, 0);
            // Two neighbours per pass over y: each y[j] takes the same subtractions in the same
            // order as one neighbour at a time (the same bits), with half the loads and stores
            // of y (C2 keeps this loop scalar; see docs/benchmarks.md, issue 13 session 10).
            int e = start[i];
            int end = start[i + 1];
            for (; e + 1 < end; e += 2) {
              double w1 = wt[e];
              double w2 = wt[e + 1];
              deg += w1;
              deg += w2;
              int o1 = nbr[e] * h;
              int o2 = nbr[e + 1] * h;
              for (int j = 0; j < h; j++) {
                y[j] = (y[j] - w1 * phi[o1 + j]) - w2 * phi[o2 + j];
              }
            }
            for (; e < end; e++) {
              double we = wt[e];
              deg += we;
              int o = nbr[e] * h;
              for (int j = 0; j < h; j++) {
                y[j] -= we * phi[o + j];
              }
            }
            for (int j = 0; j < h; j++) {
              double v = phi[oi + j];
              x[j] = v;
              y[j] += deg * v;
            }
            xb.put(r * h, x, 0, h);
            yb.put(r * h, y, 0, h);
          }
        });
        if (panel == 0) {
          Blas.dgemm(true, false, h, h, n, 1.0, xp, h, yp, h, 1.0, fp, h);
        } else {
          lowerPanels(xp, yp, fp, n, h, panel);
        }
      }
      fp.get(f, 0, h * h);
    } finally {
      NativeScratch.release(xp);
      NativeScratch.release(yp);
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

  /**
   * F[r0:r1, 0:r1] += X[:, r0:r1]^T Y[:, 0:r1] for each panel [r0, r1) of {@code panel} rows:
   * every entry on or below the diagonal, computed as in the full product (X, Y n x h).
   */
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
