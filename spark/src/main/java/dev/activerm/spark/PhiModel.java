package dev.activerm.spark;

import dev.activerm.server.core.model.RewardModel;

/**
 * A model whose input is phi itself: the server's strategies read rows through
 * {@link RewardModel#features}, and a {@link PairBlock}'s rows already are phi (computed once
 * per response by {@link Blocks}), so the features are a copy. Rewards are w^T phi as for the
 * real model; for LINEAR heads phi is the embedding, so this is the real model's arithmetic.
 */
record PhiModel(long version, int featureDim, double[] lastLayer) implements RewardModel {
  static PhiModel of(RewardModel m) {
    return new PhiModel(m.version(), m.featureDim(), m.lastLayer());
  }

  @Override
  public int inputDim() {
    return featureDim;
  }

  @Override
  public void features(float[] x, int n, float[] out) {
    System.arraycopy(x, 0, out, 0, n * featureDim);
  }
}
