package dev.activerm.server.core.model;

/** r(x) = w^T x: phi is the identity, so features are the embeddings themselves. */
public record LinearRewardModel(long version, double[] weights) implements RewardModel {
  public LinearRewardModel {
    weights = weights.clone();
  }

  @Override
  public int inputDim() {
    return weights.length;
  }

  @Override
  public int featureDim() {
    return weights.length;
  }

  @Override
  public void features(float[] x, int n, float[] out) {
    System.arraycopy(x, 0, out, 0, n * weights.length);
  }

  @Override
  public double[] lastLayer() {
    return weights;
  }
}
