package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Parallel;

/**
 * The hidden layers' Gaussian prior W_l ~ N(W_l^(0), I / lambda), W_l^(0) the seed's initial
 * weights: the penalty (lambda / 2N) ||W_l - W_l^(0)||^2 on each hidden weight matrix, added to
 * a minibatch gradient the {@link MlpBatch} has just computed (the last layer w keeps the
 * batch's own (lambda / 2N) ||w||^2, i.e. its prior N(0, I / lambda); biases stay free).
 * {@link MlpAdam#step(MlpBatch, double, double, MlpAnchorPrior)} applies it tile by tile inside
 * its update pass, so each hidden weight tile is read from native memory once per step.
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
   * How many contiguous parts layer l's squared distance is summed in (each in element order,
   * then the parts in order): the partition the caller's pass must use, fixed by the layer's
   * size and the pool's, so that the reported value's bits do not depend on who runs the pass.
   */
  int parts(int layer) {
    return Math.min(Parallel.threads(), Math.max(1, anchor[layer].length / 4096));
  }

  /**
   * For elements [off, off + n) of layer l, held in heap copies w and g from index 0: adds
   * penalty (W - W^(0)) to the gradient (elementwise, so no split changes its bits) and returns
   * sum plus the squared distances of these elements, added in element order.
   */
  double addTile(int layer, int off, float[] w, float[] g, int n, double sum) {
    float[] w0 = anchor[layer];
    float c = (float) penalty;
    double s = sum;
    for (int j = 0; j < n; j++) {
      float d = w[j] - w0[off + j];
      g[j] += c * d;
      s += (double) d * d;
    }
    return s;
  }

  /** The prior's value (penalty / 2) sum_l ||W_l - W_l^(0)||^2 from the summed squared distance. */
  double value(double squaredDistance) {
    return 0.5 * penalty * squaredDistance;
  }
}
