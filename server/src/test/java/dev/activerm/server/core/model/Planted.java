package dev.activerm.server.core.model;

import java.util.Random;
import java.util.function.ToDoubleFunction;

/** Synthetic Bradley–Terry data: Gaussian embeddings, a planted reward, labels drawn from sigma(r_a - r_b). */
final class Planted {
  final float[] x;
  final int rows;
  final int dim;
  final double[] trueReward;

  Planted(int rows, int dim, long seed, ToDoubleFunction<float[]> reward) {
    this.rows = rows;
    this.dim = dim;
    Random random = new Random(seed);
    x = new float[rows * dim];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
    trueReward = new double[rows];
    float[] row = new float[dim];
    for (int i = 0; i < rows; i++) {
      System.arraycopy(x, i * dim, row, 0, dim);
      trueReward[i] = reward.applyAsDouble(row);
    }
  }

  /** n comparisons between random distinct rows; ties with probability tieRate; weights 1 unless weighted. */
  ComparisonSet comparisons(int n, long seed, double tieRate, boolean weighted) {
    Random random = new Random(seed);
    int[] a = new int[n];
    int[] b = new int[n];
    double[] y = new double[n];
    double[] w = new double[n];
    for (int k = 0; k < n; k++) {
      a[k] = random.nextInt(rows);
      do {
        b[k] = random.nextInt(rows);
      } while (b[k] == a[k]);
      double p = 1.0 / (1.0 + Math.exp(-(trueReward[a[k]] - trueReward[b[k]])));
      y[k] = random.nextDouble() < tieRate ? 0.5 : (random.nextDouble() < p ? 1.0 : 0.0);
      w[k] = weighted ? 0.25 + 2 * random.nextDouble() : 1.0;
    }
    return new ComparisonSet(x, dim, a, b, y, w);
  }

  static double spearman(double[] u, double[] v) {
    return pearson(ranks(u), ranks(v));
  }

  private static double[] ranks(double[] v) {
    Integer[] idx = new Integer[v.length];
    for (int i = 0; i < v.length; i++) {
      idx[i] = i;
    }
    java.util.Arrays.sort(idx, (p, q) -> Double.compare(v[p], v[q]));
    double[] r = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      r[idx[i]] = i;
    }
    return r;
  }

  static double pearson(double[] u, double[] v) {
    double mu = 0, mv = 0;
    for (int i = 0; i < u.length; i++) {
      mu += u[i];
      mv += v[i];
    }
    mu /= u.length;
    mv /= v.length;
    double suv = 0, suu = 0, svv = 0;
    for (int i = 0; i < u.length; i++) {
      suv += (u[i] - mu) * (v[i] - mv);
      suu += (u[i] - mu) * (u[i] - mu);
      svv += (v[i] - mv) * (v[i] - mv);
    }
    return suv / Math.sqrt(suu * svv);
  }

  /** Solves A x = b (A n x n row-major, copied) by Gaussian elimination with partial pivoting. */
  static double[] solve(double[] aIn, double[] bIn, int n) {
    double[] a = aIn.clone();
    double[] b = bIn.clone();
    for (int c = 0; c < n; c++) {
      int p = c;
      for (int r = c + 1; r < n; r++) {
        if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) {
          p = r;
        }
      }
      for (int j = 0; j < n; j++) {
        double t = a[c * n + j];
        a[c * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      double t = b[c];
      b[c] = b[p];
      b[p] = t;
      for (int r = c + 1; r < n; r++) {
        double f = a[r * n + c] / a[c * n + c];
        for (int j = c; j < n; j++) {
          a[r * n + j] -= f * a[c * n + j];
        }
        b[r] -= f * b[c];
      }
    }
    double[] x = new double[n];
    for (int r = n - 1; r >= 0; r--) {
      double s = b[r];
      for (int j = r + 1; j < n; j++) {
        s -= a[r * n + j] * x[j];
      }
      x[r] = s / a[r * n + r];
    }
    return x;
  }
}
