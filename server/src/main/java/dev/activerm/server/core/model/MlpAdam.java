package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Parallel;
import java.nio.FloatBuffer;

/**
 * Adam moments for every parameter tensor of an {@link MlpBatch}, with AdamW's decoupled decay
 * on the weight matrices and w (not on biases). The moments are heap arrays (only this class
 * reads them); the weights and their gradients are the batch's native buffers, updated in place.
 */
final class MlpAdam {
  static final double BETA1 = 0.9;
  static final double BETA2 = 0.999;
  static final double EPS = 1e-8;

  private final float[][] m;
  private final float[][] v;
  private int t;

  MlpAdam(MlpBatch batch) {
    int layers = batch.layers;
    m = new float[2 * layers + 1][];
    v = new float[2 * layers + 1][];
    for (int l = 0; l < layers; l++) {
      int weights = batch.sizes[l + 1] * batch.sizes[l];
      m[2 * l] = new float[weights];
      v[2 * l] = new float[weights];
      m[2 * l + 1] = new float[batch.sizes[l + 1]];
      v[2 * l + 1] = new float[batch.sizes[l + 1]];
    }
    m[2 * layers] = new float[batch.sizes[layers]];
    v[2 * layers] = new float[batch.sizes[layers]];
  }

  /** One step on the gradients the batch holds. */
  void step(MlpBatch batch, double lr, double weightDecay) {
    step(batch, lr, weightDecay, null);
  }

  /**
   * One step on the gradients the batch holds plus, when prior is not null, the prior's
   * gradient on the hidden weight matrices, added tile by tile in the same pass (each tile of
   * W_l and its gradient is read once: g += penalty (W - W^(0)), then the AdamW update).
   * Returns the prior's value at the weights before this step (0 without a prior).
   */
  double step(MlpBatch batch, double lr, double weightDecay, MlpAnchorPrior prior) {
    t++;
    double bc1 = 1 - Math.pow(BETA1, t);
    double bc2Sqrt = Math.sqrt(1 - Math.pow(BETA2, t));
    double stepSize = lr / bc1;
    int layers = batch.layers;
    Coefficients decayed = new Coefficients(stepSize, bc2Sqrt, lr * weightDecay);
    Coefficients free = new Coefficients(stepSize, bc2Sqrt, 0.0);
    double squaredDistance = 0;
    for (int l = 0; l < layers; l++) {
      FloatBuffer p = batch.weights(l);
      FloatBuffer g = batch.weightGradient(l);
      if (prior == null) {
        update(p, g, m[2 * l], v[2 * l], decayed);
      } else {
        squaredDistance += updateAnchored(p, g, m[2 * l], v[2 * l], decayed, prior, l);
      }
      float[] bias = batch.bias(l);
      free.apply(bias, 0, batch.gb[l], 0, m[2 * l + 1], v[2 * l + 1], 0, bias.length);
    }
    update(batch.last(), batch.lastGradient(), m[2 * layers], v[2 * layers], decayed);
    return prior == null ? 0.0 : prior.value(squaredDistance);
  }

  /** Elements per tile: the tile's parameter and gradient copies stay in L1 (2 x 8 KiB). */
  private static final int TILE = 2048;

  private static void update(FloatBuffer p, FloatBuffer g, float[] m, float[] v, Coefficients k) {
    // Elementwise, so splitting the range over the compute pool changes no bits. The native
    // parameters and gradients are copied a tile at a time into heap scratch (bulk copies),
    // because C2 vectorises counted loops over arrays and not over direct buffers.
    Parallel.forRange(m.length, (from, to) -> {
      float[] pc = new float[Math.min(TILE, to - from)];
      float[] gc = new float[pc.length];
      for (int t0 = from; t0 < to; t0 += TILE) {
        int n = Math.min(TILE, to - t0);
        p.get(t0, pc, 0, n);
        g.get(t0, gc, 0, n);
        k.apply(pc, 0, gc, 0, m, v, t0, n);
        p.put(t0, pc, 0, n);
      }
    });
  }

  /**
   * As above for hidden weight matrix l with the prior's gradient added to each tile first;
   * split as the prior says ({@link MlpAnchorPrior#parts}), each part's squared distance summed
   * in element order and the parts in order. Returns layer l's squared distance from its anchor
   * before the update. The gradient buffer is left as the batch computed it.
   */
  private static double updateAnchored(FloatBuffer p, FloatBuffer g, float[] m, float[] v, Coefficients k,
      MlpAnchorPrior prior, int layer) {
    int n = m.length;
    int parts = prior.parts(layer);
    double[] sq = new double[parts];
    Parallel.forParts(parts, part -> {
      int from = (int) ((long) n * part / parts);
      int to = (int) ((long) n * (part + 1) / parts);
      float[] pc = new float[Math.min(TILE, to - from)];
      float[] gc = new float[pc.length];
      double s = 0;
      for (int t0 = from; t0 < to; t0 += TILE) {
        int len = Math.min(TILE, to - t0);
        p.get(t0, pc, 0, len);
        g.get(t0, gc, 0, len);
        s = prior.addTile(layer, t0, pc, gc, len, s);
        k.apply(pc, 0, gc, 0, m, v, t0, len);
        p.put(t0, pc, 0, len);
      }
      sq[part] = s;
    });
    double total = 0;
    for (double s : sq) {
      total += s;
    }
    return total;
  }

  /** One step's float coefficients and the fused update loop (one pass over p, g, m, v). */
  private static final class Coefficients {
    // All in float, as PyTorch's AdamW: the double sqrt and divide per element cost a fifth
    // of a minibatch's Java time at 2 048 -> 3 x 512.
    final float keep;
    final float step;
    final float invBc2Sqrt;
    final float b1 = (float) BETA1;
    final float b2 = (float) BETA2;
    final float eps = (float) EPS;

    Coefficients(double stepSize, double bc2Sqrt, double decay) {
      keep = (float) (1.0 - decay);
      step = (float) stepSize;
      invBc2Sqrt = (float) (1.0 / bc2Sqrt);
    }

    /** p[pOff + j], m[off + j], v[off + j] updated from g[gOff + j], j < n. */
    void apply(float[] p, int pOff, float[] g, int gOff, float[] m, float[] v, int off, int n) {
      float b1 = this.b1;
      float b2 = this.b2;
      float keep = this.keep;
      float step = this.step;
      float invBc2Sqrt = this.invBc2Sqrt;
      float eps = this.eps;
      for (int j = 0; j < n; j++) {
        float gi = g[gOff + j];
        float mi = b1 * m[off + j] + (1 - b1) * gi;
        float vi = b2 * v[off + j] + (1 - b2) * gi * gi;
        m[off + j] = mi;
        v[off + j] = vi;
        float denom = (float) Math.sqrt(vi) * invBc2Sqrt + eps;
        p[pOff + j] = p[pOff + j] * keep - step * mi / denom;
      }
    }
  }
}
