package dev.activerm.server.core.fit;

import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.project.ProjectState;
import java.util.Arrays;

/** A copy of a project's labels for training or for a posterior, taken under its read lock. */
final class ComparisonSnapshot {
  private ComparisonSnapshot() {}

  /** The first count comparisons and the pool rows they touch (compacted). Caller holds the read lock. */
  static ComparisonSet of(ProjectState s, int count) {
    int dim = s.spec().embeddingDim();
    int[] compact = new int[s.pool().size()];
    Arrays.fill(compact, -1);
    int[] a = new int[count];
    int[] b = new int[count];
    double[] y = new double[count];
    double[] w = new double[count];
    int used = 0;
    for (int k = 0; k < count; k++) {
      int ar = s.comparisons().aRow(k);
      int br = s.comparisons().bRow(k);
      if (compact[ar] < 0) {
        compact[ar] = used++;
      }
      if (compact[br] < 0) {
        compact[br] = used++;
      }
      a[k] = compact[ar];
      b[k] = compact[br];
      y[k] = s.comparisons().outcome(k).targetForA();
      w[k] = s.comparisons().weight(k);
    }
    float[] rows = new float[Math.multiplyExact(used, dim)];
    for (int r = 0; r < compact.length; r++) {
      if (compact[r] >= 0) {
        s.pool().copyRow(r, rows, compact[r] * dim);
      }
    }
    return new ComparisonSet(rows, dim, a, b, y, w);
  }
}
