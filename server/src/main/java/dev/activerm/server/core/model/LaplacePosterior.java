package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.PairKernels;
import dev.activerm.server.core.linalg.Whitening;

/**
 * The last-layer Laplace posterior of a fitted head: w ~ N(w_hat, M^-1) with
 * M = lambda I + F(labeled), F = sum_k weight_k v_k z_k z_k^T over the labeled comparisons,
 * z_k = phi(x_a) - phi(x_b), v_k = sigma(s_k) sigma(-s_k), s_k = w_hat^T z_k. (The loss
 * weights make M the Hessian of the penalised objective at w_hat.) Holds the Cholesky
 * factor M = L L^T; the standard deviation of r_a - r_b is ||L^-1 (phi_a - phi_b)||.
 */
public final class LaplacePosterior {
  private static final int BLOCK_DOUBLES = 1 << 22;

  private final int h;
  private final double[] lower;

  private LaplacePosterior(int h, double[] lower) {
    this.h = h;
    this.lower = lower;
  }

  /** Builds M from the labeled comparisons (embedding rows) and factors it. */
  public static LaplacePosterior build(RewardModel model, ComparisonSet labeled, double lambda) {
    int h = model.featureDim();
    int m = labeled.numRows();
    float[] phi = new float[m * h];
    model.features(labeled.rows(), m, phi);
    double[] w = model.lastLayer();
    int n = labeled.size();
    int block = Math.max(1, Math.min(Math.max(n, 1), BLOCK_DOUBLES / h));
    double[] scaled = new double[block * h];
    double[] f = new double[h * h];
    for (int from = 0; from < n; from += block) {
      int rows = Math.min(block, n - from);
      for (int i = 0; i < rows; i++) {
        int k = from + i;
        int ao = labeled.a()[k] * h;
        int bo = labeled.b()[k] * h;
        int off = i * h;
        double s = 0;
        for (int j = 0; j < h; j++) {
          double z = (double) phi[ao + j] - phi[bo + j];
          scaled[off + j] = z;
          s += w[j] * z;
        }
        double c = Math.sqrt(labeled.weight()[k] * BradleyTerry.curvature(s));
        for (int j = 0; j < h; j++) {
          scaled[off + j] *= c;
        }
      }
      Blas.dsyrkTransposed(h, rows, 1.0, scaled, h, 1.0, f, h);
    }
    for (int j = 0; j < h; j++) {
      f[j * h + j] += lambda;
    }
    Blas.symmetrizeUpper(h, f);
    double[] lower = DenseMatrices.choleskyLower(f, h);
    if (lower == null) {
      // lambda > 0 makes M positive definite; only features too large for double arithmetic
      // (embeddings stored before AddResponses bounded them) get here.
      throw ActiveRmException.failedPrecondition("Score: the posterior precision lambda I + F of the labeled"
          + " comparisons (h = " + h + ", lambda = " + lambda + ") is not positive definite to double precision:"
          + " the features of the labeled responses are too large. Rescale the embeddings to O(1) values, or score"
          + " rewards without pairs");
    }
    return new LaplacePosterior(h, lower);
  }

  public int featureDim() {
    return h;
  }

  /** Approximate memory footprint, for cache weighing. */
  public long bytes() {
    return bytes(h);
  }

  /** The memory footprint of the factor for feature dimension h. */
  public static long bytes(int h) {
    return (long) h * h * Double.BYTES + 64;
  }

  /**
   * sd(r_a - r_b) for pairs (a[k], b[k]) of rows of phi (m x h, float32): psi = L^-1 phi by
   * one triangular solve over the m rows, then ||psi_a - psi_b|| per pair.
   */
  public double[] differenceStddev(float[] phi, int m, int[] a, int[] b) {
    double[] psi = new double[m * h];
    for (int i = 0; i < psi.length; i++) {
      psi[i] = phi[i];
    }
    Whitening.whiten(psi, m, h, lower);
    double[] out = PairKernels.squaredDistances(psi, h, a, b);
    for (int k = 0; k < out.length; k++) {
      out[k] = Math.sqrt(out[k]);
    }
    return out;
  }
}
