package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.RowKernels;
import java.util.SplittableRandom;

/**
 * The MLP head's parameters and forward pass: phi(x) = GELU(W_L ... GELU(W_1 x + b_1) ... + b_L),
 * r(x) = w^T phi(x) with no bias on the last layer. float32 parameters, row-major
 * W_l (sizes[l] x sizes[l-1]); layers run as OpenBLAS sgemm over blocks of rows.
 *
 * <p>GELU is the tanh form 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), i.e.
 * PyTorch's GELU(approximate="tanh"), in float32 ({@link Gelu}).
 */
public final class MlpNetwork {
  /** Rows per forward block when computing features for many rows. */
  private static final int FORWARD_BLOCK = 1024;

  final int[] sizes;
  final float[][] weights;
  final float[][] biases;
  final float[] last;

  MlpNetwork(int[] sizes, float[][] weights, float[][] biases, float[] last) {
    this.sizes = sizes;
    this.weights = weights;
    this.biases = biases;
    this.last = last;
  }

  /** PyTorch nn.Linear's default: every weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  public static MlpNetwork init(int inputDim, int[] hidden, long seed) {
    if (hidden.length == 0) {
      throw new IllegalArgumentException("an MLP needs at least one hidden layer");
    }
    int[] sizes = new int[hidden.length + 1];
    sizes[0] = inputDim;
    System.arraycopy(hidden, 0, sizes, 1, hidden.length);
    SplittableRandom random = new SplittableRandom(seed);
    float[][] w = new float[hidden.length][];
    float[][] b = new float[hidden.length][];
    for (int l = 0; l < hidden.length; l++) {
      double bound = 1.0 / Math.sqrt(sizes[l]);
      w[l] = uniform(random, sizes[l + 1] * sizes[l], bound);
      b[l] = uniform(random, sizes[l + 1], bound);
    }
    float[] last = uniform(random, sizes[hidden.length], 1.0 / Math.sqrt(sizes[hidden.length]));
    return new MlpNetwork(sizes, w, b, last);
  }

  private static float[] uniform(SplittableRandom random, int n, double bound) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) ((2 * random.nextDouble() - 1) * bound);
    }
    return out;
  }

  public int inputDim() {
    return sizes[0];
  }

  public int layers() {
    return weights.length;
  }

  public int featureDim() {
    return sizes[sizes.length - 1];
  }

  /** A copy of the layer sizes [D, h_1, ..., h_L]. */
  public int[] sizes() {
    return sizes.clone();
  }

  public MlpNetwork copy() {
    float[][] w = new float[weights.length][];
    float[][] b = new float[biases.length][];
    for (int l = 0; l < weights.length; l++) {
      w[l] = weights[l].clone();
      b[l] = biases[l].clone();
    }
    return new MlpNetwork(sizes.clone(), w, b, last.clone());
  }

  /** Whether every weight and bias is finite (a diverged Adam run is not). */
  public boolean isFinite() {
    if (!allFinite(last)) {
      return false;
    }
    for (int l = 0; l < weights.length; l++) {
      if (!allFinite(weights[l]) || !allFinite(biases[l])) {
        return false;
      }
    }
    return true;
  }

  private static boolean allFinite(float[] a) {
    for (float v : a) {
      if (!Float.isFinite(v)) {
        return false;
      }
    }
    return true;
  }

  /** Number of float parameters. */
  public long parameterCount() {
    long n = last.length;
    for (int l = 0; l < weights.length; l++) {
      n += weights[l].length + biases[l].length;
    }
    return n;
  }

  /**
   * Forward through the hidden layers for rows of x (rows x D): pre[l] gets W_l a + b_l and
   * act[l] its GELU (each at least rows x sizes[l + 1]); act[L - 1] is phi. Training runs the
   * same arithmetic (sgemm with beta 0, then {@link Gelu#forward} adds the bias) over native
   * buffers in {@link MlpBatch}.
   */
  void forward(float[] x, int rows, float[][] pre, float[][] act) {
    float[] in = x;
    for (int l = 0; l < weights.length; l++) {
      int out = sizes[l + 1];
      int inDim = sizes[l];
      float[] p = pre[l];
      float[] a = act[l];
      Blas.sgemm(false, true, rows, out, inDim, 1f, in, inDim, weights[l], inDim, 0f, p, out);
      for (int i = 0; i < rows; i++) {
        Gelu.forward(p, i * out, biases[l], a, i * out, null, 0, out);
      }
      in = act[l];
    }
  }

  /** phi for n rows of x into out (n x h), in blocks of rows. */
  public void features(float[] x, int n, float[] out) {
    int block = Math.max(1, Math.min(n, FORWARD_BLOCK));
    float[][] pre = new float[weights.length][];
    float[][] act = new float[weights.length][];
    for (int l = 0; l < weights.length; l++) {
      pre[l] = new float[block * sizes[l + 1]];
      act[l] = new float[block * sizes[l + 1]];
    }
    int d = sizes[0];
    int h = featureDim();
    float[] xb = new float[block * d];
    for (int from = 0; from < n; from += block) {
      int rows = Math.min(block, n - from);
      System.arraycopy(x, from * d, xb, 0, rows * d);
      forward(xb, rows, pre, act);
      System.arraycopy(act[weights.length - 1], 0, out, from * h, rows * h);
    }
  }

  /** r(x) = w^T phi(x) for n rows of x, accumulated in double. */
  public double[] rewards(float[] x, int n) {
    int h = featureDim();
    float[] phi = new float[n * h];
    features(x, n, phi);
    double[] w = new double[h];
    for (int j = 0; j < h; j++) {
      w[j] = last[j];
    }
    return RowKernels.rowDots(phi, h, w);
  }
}
