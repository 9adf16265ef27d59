package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.PairKernels;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.RewardModel;
import java.util.function.BooleanSupplier;

/**
 * The last-layer features phi of the rows a selection touches, and the checkpoints around the
 * pool-sized kernels the strategies share.
 */
final class Features {
  private static final int FEATURE_CHUNK = 4096;

  private Features() {}

  /**
   * phi for the given pool rows (row-major, rows.length x h), float32, column means
   * subtracted. model null: phi is the embedding itself. Every quantity the strategies use
   * depends on differences phi_a - phi_b only, and centring keeps the float32 Laplacian
   * product from cancelling a large common mean.
   */
  static float[] of(RowSource source, RewardModel model, int[] rows, BooleanSupplier cancelled) {
    int d = source.dim();
    int h = model == null ? d : model.featureDim();
    int t = rows.length;
    float[] phi = new float[Math.multiplyExact(t, h)];
    // A LINEAR head's features are the embedding itself (LinearRewardModel.features is a copy):
    // the rows go straight into phi, as without a model, not through two chunk-sized staging
    // arrays (2 x 4 MiB at D = 256, allocated and zeroed per call whatever t is).
    if (model == null || model instanceof LinearRewardModel) {
      Parallel.forRange(t, (from, to) -> {
        for (int i = from; i < to; i++) {
          source.copyRow(rows[i], phi, i * h);
        }
      });
    } else {
      int chunk = Math.min(FEATURE_CHUNK, t);
      float[] x = new float[chunk * d];
      float[] out = new float[chunk * h];
      for (int from = 0; from < t; from += chunk) {
        CancelledException.checkSelection(cancelled, "features");
        int n = Math.min(chunk, t - from);
        for (int i = 0; i < n; i++) {
          source.copyRow(rows[from + i], x, i * d);
        }
        model.features(x, n, out);
        System.arraycopy(out, 0, phi, from * h, n * h);
      }
    }
    if (t > 0) {
      center(phi, t, h);
    }
    return phi;
  }

  private static void center(float[] phi, int t, int h) {
    double[] mean = new double[h];
    for (int i = 0; i < t; i++) {
      int o = i * h;
      for (int j = 0; j < h; j++) {
        mean[j] += phi[o + j];
      }
    }
    float[] m = new float[h];
    for (int j = 0; j < h; j++) {
      m[j] = (float) (mean[j] / t);
    }
    Parallel.forRange(t, (from, to) -> {
      for (int i = from; i < to; i++) {
        int o = i * h;
        for (int j = 0; j < h; j++) {
          phi[o + j] -= m[j];
        }
      }
    });
  }

  /** ||psi_a - psi_b||^2 for every pair, after a cancellation checkpoint. */
  static double[] pairDistances(float[] psi, int h, int[] ia, int[] ib, BooleanSupplier cancelled) {
    CancelledException.checkSelection(cancelled, "pair scoring");
    return PairKernels.squaredDistances(psi, h, ia, ib);
  }

  /**
   * The lower Cholesky factor of an information matrix, or FAILED_PRECONDITION saying what to
   * change (fix) when it is not positive definite in double precision: with F accumulated in
   * double only a ridge far below F's rounding, or features too large for it, gets here.
   */
  static double[] cholesky(double[] m, int h, String what, String fix) {
    double[] l = DenseMatrices.choleskyLower(m, h);
    if (l == null) {
      throw notPositiveDefinite(m, h, what, fix);
    }
    return l;
  }

  /** The FAILED_PRECONDITION {@link #cholesky} throws for m. */
  static ActiveRmException notPositiveDefinite(double[] m, int h, String what, String fix) {
    return ActiveRmException.failedPrecondition("SelectBatch: " + what + " (h = " + h
        + ", largest diagonal entry " + maxDiagonal(m, h) + ") is not positive definite to double precision; "
        + fix + ". Nothing was stored");
  }

  private static double maxDiagonal(double[] m, int h) {
    double max = 0;
    for (int i = 0; i < h; i++) {
      max = Math.max(max, m[i * h + i]);
    }
    return max;
  }
}
