package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import java.util.function.BooleanSupplier;
import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

/**
 * Fits the LINEAR head w by Newton's method on the penalised weighted Bradley–Terry objective
 *
 * <pre>f(w) = sum_k weight_k BCE(sigma(w^T z_k), y_k) + (lambda / 2) ||w||^2,   z_k = x_a - x_b.</pre>
 *
 * <p>Each step solves (Z^T diag(weight v) Z + lambda I) d = -g by Cholesky (ojAlgo) and takes
 * the largest step 1, 1/2, 1/4, ... that satisfies Armijo's condition. The difference rows z
 * are formed per block of comparisons, in double and exactly (a float32 difference is exact
 * in double); margins, loss and gradient are double throughout, so the fixed point is the
 * exact optimum. The Hessian is a sum over blocks of ssyrk (float32, 2x the speed of dsyrk)
 * on the sqrt(weight v)-scaled rows, accumulated in double: an inexact Newton matrix that
 * only changes the path, not the point it converges to. Blocks are visited in a fixed order,
 * so results are bit-identical for a given OpenBLAS thread count.
 */
public final class LinearBtFitter {
  /** About 4 Mi doubles of difference rows per block. */
  private static final int BLOCK_DOUBLES = 1 << 22;
  private static final double ARMIJO = 1e-4;
  private static final int MAX_HALVINGS = 40;

  private final ComparisonSet data;
  private final int dim;
  private final int n;
  private final double lambda;
  private final int blockRows;
  private final double[] zBlock;
  private final float[] scaledBlock;
  private final float[] hBlock;
  private final BooleanSupplier cancelled;

  public LinearBtFitter(ComparisonSet data, double lambda) {
    this(data, lambda, () -> false);
  }

  /**
   * cancelled is polled once per Newton iteration and per Hessian block; when it turns true
   * the fit throws {@link FitCancelledException}.
   */
  public LinearBtFitter(ComparisonSet data, double lambda, BooleanSupplier cancelled) {
    if (!(lambda > 0)) {
      throw new IllegalArgumentException("lambda must be > 0, got " + lambda);
    }
    this.data = data;
    this.dim = data.dim();
    this.n = data.size();
    this.lambda = lambda;
    this.blockRows = Math.max(1, Math.min(Math.max(n, 1), BLOCK_DOUBLES / dim));
    this.zBlock = new double[blockRows * dim];
    this.scaledBlock = new float[blockRows * dim];
    this.hBlock = new float[dim * dim];
    this.cancelled = cancelled;
  }

  /** The result: weights and the report (wall time filled by the caller). */
  public record Result(double[] weights, FitReport report) {}

  public Result fit(LinearFitOptions options, double[] start) {
    double[] w = start == null ? new double[dim] : start.clone();
    double[] s = margins(w);
    double[] g = new double[dim];
    double f = objective(s, w, g);
    double gnorm = infNorm(g);
    int iterations = 0;
    boolean converged = gnorm <= options.tolerance();
    double[] h = new double[dim * dim];
    while (!converged && iterations < options.maxIterations()) {
      if (cancelled.getAsBoolean()) {
        throw new FitCancelledException("LINEAR Newton iteration " + (iterations + 1));
      }
      double[] d = newtonDirection(s, g, h);
      if (d == null) {
        break;
      }
      double[] q = margins(d);
      double slope = dot(g, d);
      if (!(slope < 0)) {
        break;
      }
      double t = 1.0;
      double fNew = Double.NaN;
      int halvings = 0;
      double[] wNew = new double[dim];
      double[] sNew = new double[n];
      while (halvings <= MAX_HALVINGS) {
        for (int j = 0; j < dim; j++) {
          wNew[j] = w[j] + t * d[j];
        }
        for (int k = 0; k < n; k++) {
          sNew[k] = s[k] + t * q[k];
        }
        fNew = value(sNew, wNew);
        if (fNew <= f + ARMIJO * t * slope) {
          break;
        }
        t *= 0.5;
        halvings++;
      }
      if (halvings > MAX_HALVINGS) {
        break; // no decrease representable: the gradient is at rounding level
      }
      iterations++;
      w = wNew;
      // Margins from scratch each step: the incremental update would accumulate rounding.
      s = margins(w);
      f = objective(s, w, g);
      gnorm = infNorm(g);
      converged = gnorm <= options.tolerance();
    }
    double[] la = data.lossAndAccuracy(rowDots(data.rows(), dim, w));
    return new Result(w, new FitReport(la[0], iterations, gnorm, converged, la[1], 0.0, 0L, n));
  }

  /** Newton direction -(H)^-1 g with H = Z^T diag(weight v) Z + lambda I; null if H is not SPD. */
  private double[] newtonDirection(double[] s, double[] g, double[] h) {
    java.util.Arrays.fill(h, 0.0);
    for (int from = 0; from < n; from += blockRows) {
      FitCancelledException.check(cancelled, "LINEAR Hessian");
      int rows = Math.min(blockRows, n - from);
      fillDifferences(from, rows);
      for (int i = 0; i < rows; i++) {
        int k = from + i;
        double c = Math.sqrt(data.weight()[k] * BradleyTerry.curvature(s[k]));
        int off = i * dim;
        for (int j = 0; j < dim; j++) {
          scaledBlock[off + j] = (float) (c * zBlock[off + j]);
        }
      }
      Blas.ssyrkTransposed(dim, rows, 1f, scaledBlock, dim, 0f, hBlock, dim);
      for (int i = 0; i < dim; i++) {
        int off = i * dim;
        for (int j = i; j < dim; j++) {
          h[off + j] += hBlock[off + j];
        }
      }
    }
    for (int i = 0; i < dim; i++) {
      h[i * dim + i] += lambda;
    }
    Blas.symmetrizeUpper(dim, h);
    Cholesky<Double> chol = Cholesky.R064.make(dim, dim);
    if (!chol.decompose(R064Store.wrap(h, dim)) || !chol.isSolvable()) {
      return null;
    }
    double[] minusG = new double[dim];
    for (int j = 0; j < dim; j++) {
      minusG[j] = -g[j];
    }
    MatrixStore<Double> sol = chol.getSolution(R064Store.wrap(minusG, dim));
    double[] d = new double[dim];
    for (int j = 0; j < dim; j++) {
      d[j] = sol.doubleValue(j, 0);
    }
    return d;
  }

  /** Z v for a vector v of length dim, in double. */
  double[] margins(double[] v) {
    double[] out = new double[n];
    double[] blockOut = new double[blockRows];
    for (int from = 0; from < n; from += blockRows) {
      int rows = Math.min(blockRows, n - from);
      fillDifferences(from, rows);
      Blas.dgemm(false, false, rows, 1, dim, 1.0, zBlock, dim, v, 1, 0.0, blockOut, 1);
      System.arraycopy(blockOut, 0, out, from, rows);
    }
    return out;
  }

  /** f(w) given margins s = Z w; writes the gradient into g. */
  private double objective(double[] s, double[] w, double[] g) {
    double f = 0;
    double[] r = new double[blockRows];
    for (int j = 0; j < dim; j++) {
      g[j] = lambda * w[j];
      f += 0.5 * lambda * w[j] * w[j];
    }
    for (int from = 0; from < n; from += blockRows) {
      int rows = Math.min(blockRows, n - from);
      for (int i = 0; i < rows; i++) {
        int k = from + i;
        f += data.weight()[k] * BradleyTerry.loss(s[k], data.y()[k]);
        r[i] = data.weight()[k] * BradleyTerry.dLoss(s[k], data.y()[k]);
      }
      fillDifferences(from, rows);
      Blas.dgemm(true, false, dim, 1, rows, 1.0, zBlock, dim, r, 1, 1.0, g, 1);
    }
    return f;
  }

  private double value(double[] s, double[] w) {
    double f = 0;
    for (int j = 0; j < dim; j++) {
      f += 0.5 * lambda * w[j] * w[j];
    }
    for (int k = 0; k < n; k++) {
      f += data.weight()[k] * BradleyTerry.loss(s[k], data.y()[k]);
    }
    return f;
  }

  /** zBlock[i] = x_a - x_b for comparisons from .. from + rows, exact in double. */
  private void fillDifferences(int from, int rows) {
    float[] x = data.rows();
    for (int i = 0; i < rows; i++) {
      int ao = data.a()[from + i] * dim;
      int bo = data.b()[from + i] * dim;
      int off = i * dim;
      for (int j = 0; j < dim; j++) {
        zBlock[off + j] = (double) x[ao + j] - (double) x[bo + j];
      }
    }
  }

  /** x w for each row of x (rows x dim, float32), accumulated in double. */
  public static double[] rowDots(float[] x, int dim, double[] w) {
    double[] out = new double[x.length / dim];
    for (int i = 0; i < out.length; i++) {
      double acc = 0;
      int off = i * dim;
      for (int j = 0; j < dim; j++) {
        acc += x[off + j] * w[j];
      }
      out[i] = acc;
    }
    return out;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double infNorm(double[] v) {
    double m = 0;
    for (double x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
