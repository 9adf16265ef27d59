package dev.activerm.server.core.model;

/** r(x) = w^T phi(x), phi = the fitted MLP's last hidden layer. Immutable once built. */
public final class MlpRewardModel implements RewardModel {
  private final long version;
  private final MlpNetwork network;
  private final double[] lastLayer;

  public MlpRewardModel(long version, MlpNetwork network) {
    this.version = version;
    this.network = network.copy();
    this.lastLayer = new double[network.featureDim()];
    for (int j = 0; j < lastLayer.length; j++) {
      lastLayer[j] = network.last[j];
    }
  }

  @Override
  public long version() {
    return version;
  }

  @Override
  public int inputDim() {
    return network.inputDim();
  }

  @Override
  public int featureDim() {
    return network.featureDim();
  }

  @Override
  public void features(float[] x, int n, float[] out) {
    network.features(x, n, out);
  }

  @Override
  public double[] lastLayer() {
    return lastLayer;
  }

  /** A copy of the network (for warm starts). */
  public MlpNetwork network() {
    return network.copy();
  }
}
