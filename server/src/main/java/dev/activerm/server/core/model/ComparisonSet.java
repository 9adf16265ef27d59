package dev.activerm.server.core.model;

/**
 * Labeled comparisons as the fitters read them: the distinct embedding rows involved
 * (float32, rows x dim, row-major) and, per comparison k, the rows a[k] and b[k] into
 * that matrix, the target y[k] = P(a wins) (1, 0 or 1/2) and the loss weight[k] > 0.
 */
public record ComparisonSet(float[] rows, int dim, int[] a, int[] b, double[] y, double[] weight) {
  public ComparisonSet {
    if (rows.length % dim != 0) {
      throw new IllegalArgumentException("rows length " + rows.length + " is not a multiple of dim " + dim);
    }
    if (b.length != a.length || y.length != a.length || weight.length != a.length) {
      throw new IllegalArgumentException("a, b, y and weight must have the same length");
    }
  }

  public int size() {
    return a.length;
  }

  public int numRows() {
    return rows.length / dim;
  }

  /** The comparisons at the given positions (same rows matrix, shared). */
  public ComparisonSet subset(int[] idx) {
    int[] na = new int[idx.length];
    int[] nb = new int[idx.length];
    double[] ny = new double[idx.length];
    double[] nw = new double[idx.length];
    for (int i = 0; i < idx.length; i++) {
      na[i] = a[idx[i]];
      nb[i] = b[idx[i]];
      ny[i] = y[idx[i]];
      nw[i] = weight[idx[i]];
    }
    return new ComparisonSet(rows, dim, na, nb, ny, nw);
  }

  /** The same comparisons over a copy of only the rows they reference. */
  public ComparisonSet compact() {
    int[] map = new int[numRows()];
    java.util.Arrays.fill(map, -1);
    int used = 0;
    int[] na = new int[a.length];
    int[] nb = new int[a.length];
    for (int k = 0; k < a.length; k++) {
      if (map[a[k]] < 0) {
        map[a[k]] = used++;
      }
      if (map[b[k]] < 0) {
        map[b[k]] = used++;
      }
      na[k] = map[a[k]];
      nb[k] = map[b[k]];
    }
    float[] nr = new float[used * dim];
    for (int i = 0; i < map.length; i++) {
      if (map[i] >= 0) {
        System.arraycopy(rows, i * dim, nr, map[i] * dim, dim);
      }
    }
    return new ComparisonSet(nr, dim, na, nb, y.clone(), weight.clone());
  }

  /**
   * Weighted mean BT loss and accuracy (non-tie comparisons whose winner has the strictly
   * higher reward) given one reward per row.
   */
  public double[] lossAndAccuracy(double[] rowRewards) {
    double loss = 0;
    double wsum = 0;
    long right = 0;
    long decided = 0;
    for (int k = 0; k < a.length; k++) {
      double s = rowRewards[a[k]] - rowRewards[b[k]];
      loss += weight[k] * BradleyTerry.loss(s, y[k]);
      wsum += weight[k];
      if (y[k] != 0.5) {
        decided++;
        if ((y[k] == 1.0 && s > 0) || (y[k] == 0.0 && s < 0)) {
          right++;
        }
      }
    }
    return new double[] {wsum > 0 ? loss / wsum : 0, decided > 0 ? (double) right / decided : 0};
  }
}
