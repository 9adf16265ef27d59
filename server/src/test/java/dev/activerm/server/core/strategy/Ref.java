package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.RewardModel;
import java.util.Random;

/** Independent plain-loop references (double precision, explicit z_k) for the selection tests. */
final class Ref {
  private Ref() {}

  static RowSource pool(float[] x, int rows, int dim) {
    return new RowSource() {
      public int rows() {
        return rows;
      }

      public int dim() {
        return dim;
      }

      public void copyRow(int row, float[] dst, int offset) {
        System.arraycopy(x, row * dim, dst, offset, dim);
      }
    };
  }

  static float[] gaussian(Random r, int n, double scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (scale * r.nextGaussian());
    }
    return x;
  }

  static double[] phi(RewardModel m, float[] x, int row, int dim) {
    float[] in = new float[dim];
    System.arraycopy(x, row * dim, in, 0, dim);
    int h = m == null ? dim : m.featureDim();
    float[] out = new float[h];
    if (m == null) {
      out = in;
    } else {
      m.features(in, 1, out);
    }
    double[] d = new double[h];
    for (int j = 0; j < h; j++) {
      d[j] = out[j];
    }
    return d;
  }

  static double[] z(RewardModel m, float[] x, int dim, int a, int b) {
    double[] pa = phi(m, x, a, dim);
    double[] pb = phi(m, x, b, dim);
    for (int j = 0; j < pa.length; j++) {
      pa[j] -= pb[j];
    }
    return pa;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double v(RewardModel m, double[] z) {
    double p = 1 / (1 + Math.exp(-dot(m.lastLayer(), z)));
    return p * (1 - p);
  }

  static void addOuter(double[][] m, double[] z, double w) {
    for (int i = 0; i < z.length; i++) {
      for (int j = 0; j < z.length; j++) {
        m[i][j] += w * z[i] * z[j];
      }
    }
  }

  static double[][] eye(int h, double s) {
    double[][] m = new double[h][h];
    for (int i = 0; i < h; i++) {
      m[i][i] = s;
    }
    return m;
  }

  static double[][] copy(double[][] m) {
    double[][] c = new double[m.length][];
    for (int i = 0; i < m.length; i++) {
      c[i] = m[i].clone();
    }
    return c;
  }

  /** Cholesky lower factor, plain loops. */
  static double[][] chol(double[][] a) {
    int n = a.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double s = a[i][j];
        for (int k = 0; k < j; k++) {
          s -= l[i][k] * l[j][k];
        }
        if (i == j) {
          if (s <= 0) {
            throw new ArithmeticException("not SPD");
          }
          l[i][i] = Math.sqrt(s);
        } else {
          l[i][j] = s / l[j][j];
        }
      }
    }
    return l;
  }

  static double logDet(double[][] a) {
    double[][] l = chol(a);
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += 2 * Math.log(l[i][i]);
    }
    return s;
  }

  /** x^T A^-1 x by forward substitution with the Cholesky factor. */
  static double quad(double[][] a, double[] x) {
    double[][] l = chol(a);
    int n = x.length;
    double[] y = new double[n];
    double s = 0;
    for (int i = 0; i < n; i++) {
      double t = x[i];
      for (int k = 0; k < i; k++) {
        t -= l[i][k] * y[k];
      }
      y[i] = t / l[i][i];
      s += y[i] * y[i];
    }
    return s;
  }

  static double[][] inverse(double[][] a) {
    int n = a.length;
    double[][] inv = new double[n][n];
    double[][] l = chol(a);
    for (int c = 0; c < n; c++) {
      double[] y = new double[n];
      for (int i = 0; i < n; i++) {
        double t = i == c ? 1 : 0;
        for (int k = 0; k < i; k++) {
          t -= l[i][k] * y[k];
        }
        y[i] = t / l[i][i];
      }
      double[] xx = new double[n];
      for (int i = n - 1; i >= 0; i--) {
        double t = y[i];
        for (int k = i + 1; k < n; k++) {
          t -= l[k][i] * xx[k];
        }
        xx[i] = t / l[i][i];
      }
      for (int i = 0; i < n; i++) {
        inv[i][c] = xx[i];
      }
    }
    return inv;
  }

  static LinearRewardModel linear(Random r, int dim, double scale) {
    double[] w = new double[dim];
    for (int i = 0; i < dim; i++) {
      w[i] = scale * r.nextGaussian();
    }
    return new LinearRewardModel(1, w);
  }

  /** An MLP-shaped test double: phi = tanh(W x), h != D. */
  record TanhModel(long version, int inputDim, int featureDim, float[] weights, double[] lastLayer)
      implements RewardModel {
    static TanhModel random(Random r, int d, int h) {
      float[] w = new float[h * d];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (r.nextGaussian() / Math.sqrt(d));
      }
      double[] last = new double[h];
      for (int i = 0; i < h; i++) {
        last[i] = r.nextGaussian();
      }
      return new TanhModel(3, d, h, w, last);
    }

    @Override
    public void features(float[] x, int n, float[] out) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < featureDim; j++) {
          double s = 0;
          for (int k = 0; k < inputDim; k++) {
            s += weights[j * inputDim + k] * x[i * inputDim + k];
          }
          out[i * featureDim + j] = (float) Math.tanh(s);
        }
      }
    }
  }
}
