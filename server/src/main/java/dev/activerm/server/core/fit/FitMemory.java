package dev.activerm.server.core.fit;

import dev.activerm.server.core.errors.HeapBudget;
import dev.activerm.server.core.model.MlpFitOptions;

/**
 * The working memory of one Fit, estimated from sizes before training (issue 14: huge MLPs
 * used to end in OutOfMemoryError). The comparisons' rows are already copied when this runs;
 * what training adds: MLP, the parameters seven times over (network, start copy, gradients,
 * Adam's two moments, the best-so-far and the published copy) plus the minibatch activations
 * (two rows per comparison; pre-activation, activation, GELU derivative and the backward
 * buffers per layer) and the rewards of every row; LINEAR, the off-heap copy of the rows and
 * a few vectors per row, comparison and dimension.
 */
final class FitMemory {
  private FitMemory() {}

  /** Bytes an MLP fit with these layer sizes adds. */
  static long mlp(int dim, int[] hidden, int numRows, int numComparisons, MlpFitOptions options) {
    long params = 0;
    long in = dim;
    long widest = dim;
    long activations = 0;
    long rows = 2L * Math.min(options.batchSize(), Math.max(1, numComparisons));
    for (int width : hidden) {
      params = sat(params, mul(in + 1, width));
      activations = sat(activations, mul(rows, mul(width, Float.BYTES * 2 + Double.BYTES)));
      widest = Math.max(widest, width);
      in = width;
    }
    params = sat(params, in);
    long h = in;
    long paramBytes = mul(params, 7L * Float.BYTES);
    long buffers = sat(mul(rows, mul(widest, 2L * Float.BYTES)), mul(rows, mul(dim, Float.BYTES)));
    // Rewards of all rows, computed through phi in blocks of at most 1024 rows.
    long rewards = sat(mul(numRows, Double.BYTES), mul(Math.min(numRows, 1024), mul(h, 2L * Float.BYTES)));
    return sat(sat(paramBytes, activations), sat(buffers, rewards));
  }

  /** Bytes a LINEAR fit adds. */
  static long linear(int dim, int numRows, int numComparisons) {
    return sat(mul(mul(numRows, dim), Float.BYTES), mul(8L * Double.BYTES, (long) numRows + numComparisons + dim));
  }

  static void checkMlp(String projectId, int dim, int[] hidden, int numRows, int numComparisons,
      MlpFitOptions options) {
    HeapBudget.require(mlp(dim, hidden, numRows, numComparisons, options),
        "Fit of project '" + projectId + "' (MLP " + java.util.Arrays.toString(hidden) + " on " + dim
            + "-dimensional embeddings, " + numComparisons + " comparisons)",
        "lower mlp.batch_size, or create a project with smaller hidden_sizes");
  }

  static void checkLinear(String projectId, int dim, int numRows, int numComparisons) {
    HeapBudget.require(linear(dim, numRows, numComparisons),
        "Fit of project '" + projectId + "' (LINEAR, " + numRows + " rows of dimension " + dim + ")",
        "use a project with a smaller embedding_dim");
  }

  static long mul(long a, long b) {
    if (a == 0 || b == 0) {
      return 0;
    }
    return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
  }

  static long sat(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }
}
