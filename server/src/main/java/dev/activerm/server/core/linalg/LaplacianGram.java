package dev.activerm.server.core.linalg;

import dev.activerm.server.core.errors.CancelledException;
import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * sum_k weight_k z_k z_k^T with z_k = phi_a - phi_b, without forming any z_k: it equals
 * Phi^T L_G Phi with L_G = D - A the weighted graph Laplacian of the pairs over the rows.
 * One sparse-dense product Y = L_G Phi (CSR, parallel over rows, accumulated in double),
 * then one GEMM Phi^T Y: P*h + T*h^2 flops, not P*h^2.
 */
public final class LaplacianGram {
  private LaplacianGram() {}

  /** Adds sum_k weight_k z_k z_k^T (h x h, row-major, double) into out; phi has t rows. */
  public static void accumulate(float[] phi, int t, int h, int[] ia, int[] ib, double[] weight, double[] out,
      BooleanSupplier cancelled) {
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
    float[] wt = new float[2 * p];
    for (int k = 0; k < p; k++) {
      float wk = (float) weight[k];
      int a = ia[k];
      int b = ib[k];
      nbr[fill[a]] = b;
      wt[fill[a]++] = wk;
      nbr[fill[b]] = a;
      wt[fill[b]++] = wk;
    }
    CancelledException.checkSelection(cancelled, "Fisher accumulation");
    // Y = (D - A) Phi, row by row, accumulated in double.
    float[] y = new float[t * h];
    Parallel.forRange(t, (from, to) -> {
      double[] acc = new double[h];
      for (int i = from; i < to; i++) {
        Arrays.fill(acc, 0);
        double deg = 0;
        for (int e = start[i]; e < start[i + 1]; e++) {
          float we = wt[e];
          deg += we;
          int o = nbr[e] * h;
          for (int j = 0; j < h; j++) {
            acc[j] -= we * phi[o + j];
          }
        }
        int oi = i * h;
        for (int j = 0; j < h; j++) {
          y[oi + j] = (float) (acc[j] + deg * phi[oi + j]);
        }
      }
    });
    CancelledException.checkSelection(cancelled, "Fisher accumulation");
    float[] f = new float[h * h];
    Blas.sgemm(true, false, h, h, t, 1f, phi, h, y, h, 0f, f, h);
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < h; j++) {
        out[i * h + j] += 0.5 * ((double) f[i * h + j] + f[j * h + i]);
      }
    }
  }
}
