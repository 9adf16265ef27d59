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
      params = HeapBudget.sat(params, HeapBudget.mul(in + 1, width));
      activations = HeapBudget.sat(activations, HeapBudget.mul(rows, HeapBudget.mul(width, Float.BYTES * 2 + Double.BYTES)));
      widest = Math.max(widest, width);
      in = width;
    }
    params = HeapBudget.sat(params, in);
    long h = in;
    long paramBytes = HeapBudget.mul(params, 7L * Float.BYTES);
    long buffers = HeapBudget.sat(HeapBudget.mul(rows, HeapBudget.mul(widest, 2L * Float.BYTES)), HeapBudget.mul(rows, HeapBudget.mul(dim, Float.BYTES)));
    // Rewards of all rows, computed through phi in blocks of at most 1024 rows.
    long rewards = HeapBudget.sat(HeapBudget.mul(numRows, Double.BYTES), HeapBudget.mul(Math.min(numRows, 1024), HeapBudget.mul(h, 2L * Float.BYTES)));
    return HeapBudget.sat(HeapBudget.sat(paramBytes, activations), HeapBudget.sat(buffers, rewards));
  }

  /** Bytes a LINEAR fit adds. */
  static long linear(int dim, int numRows, int numComparisons) {
    return HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(numRows, dim), Float.BYTES), HeapBudget.mul(8L * Double.BYTES, (long) numRows + numComparisons + dim));
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
}
