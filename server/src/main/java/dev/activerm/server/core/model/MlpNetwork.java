package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.RowKernels;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;

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
   * phi for n rows of x into out (n x h), in blocks of rows: per layer an sgemm with beta 0,
   * then {@link Gelu#forward} adds the bias (the same arithmetic as training's forward pass in
   * {@link MlpBatch}). The weights and one block's activations live in native memory for the
   * call: for Java arrays JavaCPP would malloc and copy A, B and C in and out on every sgemm
   * (a 1 024 x 2 048 block and the 4 MiB first layer, per block and layer).
   */
  public void features(float[] x, int n, float[] out) {
    int block = Math.max(1, Math.min(n, FORWARD_BLOCK));
    int layers = weights.length;
    int d = sizes[0];
    int h = featureDim();
    int widest = 0;
    for (int l = 0; l < layers; l++) {
      widest = Math.max(widest, sizes[l + 1]);
    }
    FloatPointer[] w = new FloatPointer[layers];
    FloatPointer[] act = new FloatPointer[layers];
    FloatPointer xb = null;
    FloatPointer pre = null;
    try {
      for (int l = 0; l < layers; l++) {
        w[l] = new FloatPointer(weights[l].length);
        w[l].asBuffer().put(0, weights[l], 0, weights[l].length);
        act[l] = new FloatPointer((long) block * sizes[l + 1]);
      }
      xb = new FloatPointer((long) block * d);
      pre = new FloatPointer((long) block * widest);
      float[] row = new float[widest];
      float[] res = new float[widest];
      Gelu.Scratch scratch = new Gelu.Scratch();
      for (int from = 0; from < n; from += block) {
        int rows = Math.min(block, n - from);
        xb.asBuffer().put(0, x, from * d, rows * d);
        FloatPointer in = xb;
        for (int l = 0; l < layers; l++) {
          int outDim = sizes[l + 1];
          int inDim = sizes[l];
          Blas.sgemm(false, true, rows, outDim, inDim, 1f, in, inDim, w[l], inDim, 0f, pre, outDim);
          FloatBuffer p = pre.asBuffer();
          FloatBuffer a = act[l].asBuffer();
          for (int i = 0; i < rows; i++) {
            p.get(i * outDim, row, 0, outDim);
            Gelu.forward(row, 0, biases[l], res, 0, null, 0, outDim, scratch);
            a.put(i * outDim, res, 0, outDim);
          }
          in = act[l];
        }
        act[layers - 1].asBuffer().get(0, out, from * h, rows * h);
      }
    } finally {
      for (int l = 0; l < layers; l++) {
        close(w[l]);
        close(act[l]);
      }
      close(xb);
      close(pre);
    }
  }

  private static void close(FloatPointer p) {
    if (p != null) {
      p.close();
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
