package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Parallel;
import java.nio.FloatBuffer;

/**
 * The hidden layers' Gaussian prior W_l ~ N(W_l^(0), I / lambda), W_l^(0) the seed's initial
 * weights: the penalty (lambda / 2N) ||W_l - W_l^(0)||^2 on each hidden weight matrix, added to
 * a minibatch gradient the {@link MlpBatch} has just computed (the last layer w keeps the
 * batch's own (lambda / 2N) ||w||^2, i.e. its prior N(0, I / lambda); biases stay free).
 *
 * <p>Why anchored at the initial draw and not at 0: for a net of L >= 2 layers the data term
 * depends on the weights through products of L + 1 of them, so near W = 0 it changes by
 * O(||theta||^(L+1)) while a zero-centred penalty grows by O(||theta||^2); W = 0 (the flat
 * network, loss ln 2) is then a local minimum for every lambda > 0, and fits fell into it
 * (docs/benchmarks.md, issue 12 session 5). Around a random draw from the prior that basin is
 * not there; the fit starts at the anchor, keeps the random features where the labels say
 * nothing and moves them only as far as the labels pay for (randomised MAP: for a linearised
 * net this MAP is a draw from the posterior). Why lambda, the project's prior precision, and
 * not the init's own variance (1 / (3 fan_in)): that variance assumes inputs with unit
 * variance per coordinate; on unit-norm embeddings in D = 384 it would be 384x stiffer than
 * the lambda a LINEAR head uses on the same vectors, and the hidden layers could not move at
 * all. lambda is the one prior scale the user chose for the embeddings' scale.
 */
final class MlpAnchorPrior {
  private static final int TILE = 2048;
  private final float[][] anchor;
  private final double penalty;

  /** Anchors at init's weight matrices (copied); penalty is lambda / N (per example of the mean loss). */
  MlpAnchorPrior(MlpNetwork init, double penalty) {
    anchor = new float[init.layers()][];
    for (int l = 0; l < anchor.length; l++) {
      anchor[l] = init.weights[l].clone();
    }
    this.penalty = penalty;
  }

  /**
   * Adds penalty (W_l - W_l^(0)) to each hidden weight gradient the batch holds and returns
   * the penalty's value (penalty / 2) sum_l ||W_l - W_l^(0)||^2.
   */
  double addGradient(MlpBatch batch) {
    double value = 0;
    for (int l = 0; l < anchor.length; l++) {
      value += addLayer(batch.weights(l), batch.weightGradient(l), anchor[l]);
    }
    return 0.5 * penalty * value;
  }

  /** Squared distance of one layer from its anchor (summed in a fixed order per part). */
  private double addLayer(FloatBuffer w, FloatBuffer g, float[] w0) {
    int n = w0.length;
    int parts = Math.min(Parallel.threads(), Math.max(1, n / 4096));
    double[] sq = new double[parts];
    float c = (float) penalty;
    // Elementwise on the gradient, so the split changes no bits of it; the squared distance is
    // only the reported objective's (added part by part in order).
    // A tile at a time through small heap scratch, as MlpAdam does: not a fresh copy of the
    // whole layer (4 MiB at 2 048 x 512) per minibatch. Same elements, same order within a part.
    Parallel.forParts(parts, part -> {
      int from = (int) ((long) n * part / parts);
      int to = (int) ((long) n * (part + 1) / parts);
      float[] wc = new float[Math.min(TILE, to - from)];
      float[] gc = new float[wc.length];
      double s = 0;
      for (int t0 = from; t0 < to; t0 += TILE) {
        int len = Math.min(TILE, to - t0);
        w.get(t0, wc, 0, len);
        g.get(t0, gc, 0, len);
        for (int j = 0; j < len; j++) {
          float d = wc[j] - w0[t0 + j];
          gc[j] += c * d;
          s += (double) d * d;
        }
        g.put(t0, gc, 0, len);
      }
      sq[part] = s;
    });
    double total = 0;
    for (double s : sq) {
      total += s;
    }
    return total;
  }
}
