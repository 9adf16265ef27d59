package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.PairKernels;
import dev.activerm.server.core.linalg.RowKernels;

/** Rewards r = w^T phi(x) of a fitted head, and reward margins r_a - r_b of pairs. */
public final class Rewards {
  private Rewards() {}

  /** r = w^T phi(x) for n rows of x, in double (Score). */
  public static double[] of(RewardModel model, float[] x, int n) {
    if (model instanceof LinearRewardModel lin) {
      return RowKernels.rowDots(x, model.inputDim(), lin.weights());
    }
    int h = model.featureDim();
    float[] phi = new float[n * h];
    model.features(x, n, phi);
    return ofFeatures(model, phi, h);
  }

  /** r = w^T phi for rows of features phi (h wide) already computed, in double. */
  public static double[] ofFeatures(RewardModel model, float[] phi, int h) {
    return RowKernels.rowDots(phi, h, model.lastLayer());
  }

  /**
   * r_a - r_b for every pair (local row indices) of feature rows phi (t x h): one float32
   * GEMV over the rows, then a difference per pair. The selection strategies use these for
   * ranks and Bernoulli weights, where float32 rewards are plenty.
   */
  public static double[] pairMargins(float[] phi, int t, int h, double[] w, int[] ia, int[] ib) {
    float[] wf = new float[h];
    for (int j = 0; j < h; j++) {
      wf[j] = (float) w[j];
    }
    float[] r = new float[t];
    if (t > 0) {
      Blas.sgemv(false, t, h, 1f, phi, h, wf, 0f, r);
    }
    return PairKernels.differences(r, ia, ib);
  }
}
