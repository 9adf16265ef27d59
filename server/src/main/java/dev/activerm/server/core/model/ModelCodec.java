package dev.activerm.server.core.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Model parameters <-> bytes for storage. LINEAR: D little-endian float64 (w). MLP:
 * little-endian float32 W_1, b_1, ..., W_L, b_L, w in that order; the layer sizes
 * [D, h_1, ..., h_L] are stored beside the blob.
 */
public final class ModelCodec {
  private ModelCodec() {}

  public static int[] layerSizes(RewardModel model) {
    if (model instanceof MlpRewardModel m) {
      return m.network().sizes();
    }
    return new int[] {model.inputDim()};
  }

  public static byte[] encode(RewardModel model) {
    if (model instanceof LinearRewardModel l) {
      double[] w = l.weights();
      ByteBuffer buf = ByteBuffer.allocate(w.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      buf.asDoubleBuffer().put(w);
      return buf.array();
    }
    if (model instanceof MlpRewardModel m) {
      MlpNetwork net = m.network();
      long count = net.parameterCount();
      ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
      var fb = buf.asFloatBuffer();
      for (int l = 0; l < net.layers(); l++) {
        fb.put(net.weights[l]);
        fb.put(net.biases[l]);
      }
      fb.put(net.last);
      return buf.array();
    }
    throw new IllegalArgumentException("unknown model type " + model.getClass().getName());
  }

  /** Rebuilds a model; LINEAR when sizes has one entry, MLP otherwise. */
  public static RewardModel decode(long version, int[] sizes, byte[] params) {
    ByteBuffer buf = ByteBuffer.wrap(params).order(ByteOrder.LITTLE_ENDIAN);
    if (sizes.length == 1) {
      if (params.length != sizes[0] * Double.BYTES) {
        throw new IllegalArgumentException("LINEAR model of dim " + sizes[0] + " has " + params.length + " bytes");
      }
      double[] w = new double[sizes[0]];
      buf.asDoubleBuffer().get(w);
      return new LinearRewardModel(version, w);
    }
    int layers = sizes.length - 1;
    float[][] w = new float[layers][];
    float[][] b = new float[layers][];
    long expected = sizes[layers];
    for (int l = 0; l < layers; l++) {
      expected += (long) sizes[l + 1] * sizes[l] + sizes[l + 1];
    }
    if (params.length != expected * Float.BYTES) {
      throw new IllegalArgumentException("MLP model " + java.util.Arrays.toString(sizes) + " has " + params.length
          + " bytes, expected " + expected * Float.BYTES);
    }
    var fb = buf.asFloatBuffer();
    for (int l = 0; l < layers; l++) {
      w[l] = new float[sizes[l + 1] * sizes[l]];
      b[l] = new float[sizes[l + 1]];
      fb.get(w[l]);
      fb.get(b[l]);
    }
    float[] last = new float[sizes[layers]];
    fb.get(last);
    return new MlpRewardModel(version, new MlpNetwork(sizes.clone(), w, b, last));
  }
}
