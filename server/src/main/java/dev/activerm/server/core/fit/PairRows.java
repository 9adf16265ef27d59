package dev.activerm.server.core.fit;

import dev.activerm.server.core.project.ProjectState;
import java.util.HashMap;
import java.util.Map;

/**
 * The distinct pool rows that a list of pairs touches, each copied once (a response in many
 * pairs is featurised once), with the pairs re-indexed into those rows. Score's pairs and
 * GetPoolUncertainty's sampled pairs both go through it. Call under the project's read lock.
 *
 * @param a pair k's first response, as an index into rows
 * @param b pair k's second response, likewise
 * @param rows numRows x embedding_dim, row-major
 */
record PairRows(int[] a, int[] b, float[] rows, int numRows) {

  static PairRows gather(ProjectState s, int[] poolA, int[] poolB) {
    int dim = s.spec().embeddingDim();
    int n = poolA.length;
    Map<Integer, Integer> compact = new HashMap<>();
    int[] a = new int[n];
    int[] b = new int[n];
    for (int k = 0; k < n; k++) {
      a[k] = compact.computeIfAbsent(poolA[k], r -> compact.size());
      b[k] = compact.computeIfAbsent(poolB[k], r -> compact.size());
    }
    float[] rows = new float[compact.size() * dim];
    for (Map.Entry<Integer, Integer> e : compact.entrySet()) {
      s.pool().copyRow(e.getKey(), rows, e.getValue() * dim);
    }
    return new PairRows(a, b, rows, compact.size());
  }
}
