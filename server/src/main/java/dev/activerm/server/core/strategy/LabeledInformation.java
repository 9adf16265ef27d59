package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;

/**
 * lambda I + F(labeled) (h x h, row-major) with its lower Cholesky factor: the information
 * the labeled and pending pairs already carry, shared by PAST_AWARE_DOPT, GREEDY_DOPT and the
 * BALD family, cached per (model version, labels, pending set).
 */
public record LabeledInformation(int h, double[] matrix, double[] factor) {
  public long bytes() {
    return 16L * h * h + 64;
  }

  /** From the input's labeled pairs, v from the model (comparison weight times v per entry). */
  public static LabeledInformation compute(StrategyInput in) {
    RewardModel m = in.model();
    int h = m.featureDim();
    double[] f = new double[h * h];
    PairList lab = in.labeled();
    if (lab.size() > 0) {
      Touched t = Touched.of(in.pool().rows(), lab);
      float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
      double[] v = BradleyTerry.clippedVariance(
          Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]));
      for (int k = 0; k < v.length; k++) {
        v[k] *= in.labeledWeights()[k];
      }
      LaplacianGram.accumulate(phi, t.size(), h, t.localA[0], t.localB[0], v, f, in.cancelled());
    }
    DenseMatrices.addDiagonal(f, h, in.lambda());
    // lambda > 0 keeps lambda I + F positive definite unless the features are so large that
    // F's double rounding exceeds lambda (embeddings stored before AddResponses bounded them).
    return new LabeledInformation(h, f, Features.cholesky(f, h, "lambda I + F(labeled) with lambda = " + in.lambda(),
        "the features of the labeled responses are too large for the prior precision: rescale the embeddings"
        + " to O(1) values (or create the project with a larger l2)"));
  }
}
