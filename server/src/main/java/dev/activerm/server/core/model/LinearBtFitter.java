package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.RowKernels;

/**
 * Fits the LINEAR head w by truncated Newton (Newton-CG) on the penalised weighted
 * Bradley–Terry objective
 *
 * <pre>f(w) = sum_k weight_k BCE(sigma(w^T z_k), y_k) + (lambda / 2) ||w||^2,   z_k = x_a - x_b.</pre>
 *
 * <p>Every pass over the data costs O(R D), R the number of distinct rows (R &lt;= 2N), and
 * nothing D x D is ever formed: the difference rows z_k are never materialised, because
 * Z v = (X v)_a - (X v)_b and Z^T c = X^T (c scattered onto the rows with signs + and -).
 * Each Newton step solves H d = -g, H = Z^T diag(weight v) Z + lambda I, approximately by
 * preconditioned conjugate gradients on Hessian-vector products (two passes each) to a
 * relative residual min(1/2, sqrt(||g|| / ||g_0||)) (superlinear convergence), then does a
 * line search on the
 * one-dimensional restriction phi(t) = f(w + t d): with q = Z d (accumulated by CG for free)
 * phi, phi' and phi'' cost O(N) each, so a safeguarded Newton iteration on phi' finds a step
 * that satisfies the strong Wolfe conditions (c1 = 1e-4, c2 = 0.1).
 *
 * <p>The CG preconditioner is the diagonal of lambda I + 2 X^T diag(deg) X, deg_i the summed
 * curvature weight of the comparisons that touch row i: Z^T diag(h) Z = X^T L X with L the
 * weighted graph Laplacian of the comparisons, and L &lt;= 2 diag(deg), so this is the Jacobi
 * preconditioner of an upper bound of H, computed in one O(R D) pass. It takes out the
 * column scales of the embeddings, which otherwise stall CG.
 *
 * <p>All products read the float32 rows and accumulate in double (see {@link RowKernels});
 * margins, loss and gradient are double, recomputed from scratch at every new iterate, so
 * the reported gradient is exactly the one a warm start from w would see. The fixed point
 * is the exact optimum of the objective over the float32 embeddings. Results are
 * bit-identical for any thread count.
 */
public final class LinearBtFitter {
  private static final double C1 = 1e-4;
  private static final double C2 = 0.1;
  private static final int MAX_LINE_SEARCH = 40;
  private static final int MAX_CG = 250;

  private final ComparisonSet data;
  private final int dim;
  private final int n;
  private final int rows;
  private final double lambda;
  private final double[] rowBuf;
  private final double[] rowCoef;

  public LinearBtFitter(ComparisonSet data, double lambda) {
    if (!(lambda > 0)) {
      throw new IllegalArgumentException("lambda must be > 0, got " + lambda);
    }
    this.data = data;
    this.dim = data.dim();
    this.n = data.size();
    this.rows = data.numRows();
    this.lambda = lambda;
    this.rowBuf = new double[rows];
    this.rowCoef = new double[rows];
  }

  /** The result: weights and the report (wall time filled by the caller). */
  public record Result(double[] weights, FitReport report) {}

  public Result fit(LinearFitOptions options, double[] start) {
    if (start != null && start.length != dim) {
      throw new IllegalArgumentException("start has length " + start.length + ", expected " + dim);
    }
    double[] w = start == null ? new double[dim] : start.clone();
    double[] rowRewards = new double[rows];
    double[] s = new double[n];
    double[] g = new double[dim];
    double f = evaluate(w, rowRewards, s, g);
    double gnorm = infNorm(g);
    double g0 = norm2(g);
    int iterations = 0;
    boolean converged = gnorm <= options.tolerance();
    double[] h = new double[n];
    double[] q = new double[n];
    while (!converged && iterations < options.maxIterations()) {
      for (int k = 0; k < n; k++) {
        h[k] = data.weight()[k] * BradleyTerry.curvature(s[k]);
      }
      double gn = norm2(g);
      double eta = Math.min(0.5, Math.sqrt(gn / g0));
      double[] precond = preconditioner(h);
      double[] d = conjugateGradient(h, precond, g, eta * gn, q);
      double slope = dot(g, d);
      if (!(slope < 0)) {
        break; // CG from 0 on an SPD system always descends; only non-finite data gets here
      }
      double t = lineSearch(s, q, w, d, f, slope);
      if (t == 0) {
        break; // no decrease representable: the gradient is at rounding level
      }
      for (int j = 0; j < dim; j++) {
        w[j] += t * d[j];
      }
      iterations++;
      f = evaluate(w, rowRewards, s, g);
      gnorm = infNorm(g);
      converged = gnorm <= options.tolerance();
    }
    double[] la = data.lossAndAccuracy(rowRewards);
    return new Result(w, new FitReport(la[0], iterations, gnorm, converged, la[1], 0.0, 0L, n));
  }

  /**
   * f(w); writes X w into rowRewards, the margins s = Z w and the gradient
   * g = Z^T (weight (sigma(s) - y)) + lambda w.
   */
  private double evaluate(double[] w, double[] rowRewards, double[] s, double[] g) {
    RowKernels.timesVector(data.rows(), rows, dim, w, rowRewards);
    differences(rowRewards, s);
    double f = 0;
    java.util.Arrays.fill(rowCoef, 0.0);
    for (int k = 0; k < n; k++) {
      f += data.weight()[k] * BradleyTerry.loss(s[k], data.y()[k]);
      double r = data.weight()[k] * BradleyTerry.dLoss(s[k], data.y()[k]);
      rowCoef[data.a()[k]] += r;
      rowCoef[data.b()[k]] -= r;
    }
    RowKernels.transposeTimesVector(data.rows(), rows, dim, rowCoef, g);
    for (int j = 0; j < dim; j++) {
      f += 0.5 * lambda * w[j] * w[j];
      g[j] += lambda * w[j];
    }
    return f;
  }

  /** (Z^T diag(h) Z + lambda I) p into out; Z p into zp. */
  private void hessianTimes(double[] h, double[] p, double[] zp, double[] out) {
    RowKernels.timesVector(data.rows(), rows, dim, p, rowBuf);
    differences(rowBuf, zp);
    java.util.Arrays.fill(rowCoef, 0.0);
    for (int k = 0; k < n; k++) {
      double c = h[k] * zp[k];
      rowCoef[data.a()[k]] += c;
      rowCoef[data.b()[k]] -= c;
    }
    RowKernels.transposeTimesVector(data.rows(), rows, dim, rowCoef, out);
    for (int j = 0; j < dim; j++) {
      out[j] += lambda * p[j];
    }
  }

  /** lambda + 2 sum_i deg_i x_ij^2 per column j, deg_i = sum of h over the comparisons touching row i. */
  private double[] preconditioner(double[] h) {
    java.util.Arrays.fill(rowCoef, 0.0);
    for (int k = 0; k < n; k++) {
      rowCoef[data.a()[k]] += 2 * h[k];
      rowCoef[data.b()[k]] += 2 * h[k];
    }
    double[] m = new double[dim];
    RowKernels.transposeSquaresTimesVector(data.rows(), rows, dim, rowCoef, m);
    for (int j = 0; j < dim; j++) {
      m[j] += lambda;
    }
    return m;
  }

  /**
   * Approximately solves H d = -g by conjugate gradients from d = 0, preconditioned by
   * diag(precond), stopping when the residual's 2-norm is at most tol; writes q = Z d
   * (accumulated from the Z p of each step).
   */
  private double[] conjugateGradient(double[] h, double[] precond, double[] g, double tol, double[] q) {
    double[] d = new double[dim];
    double[] r = new double[dim];
    double[] p = new double[dim];
    double[] hp = new double[dim];
    double[] zp = new double[n];
    java.util.Arrays.fill(q, 0.0);
    double[] z = new double[dim];
    for (int j = 0; j < dim; j++) {
      r[j] = -g[j];
      z[j] = r[j] / precond[j];
      p[j] = z[j];
    }
    double rz = dot(r, z);
    int maxSteps = Math.min(dim, MAX_CG);
    for (int step = 0; step < maxSteps; step++) {
      hessianTimes(h, p, zp, hp);
      double php = dot(p, hp);
      if (!(php > 0)) {
        break;
      }
      double alpha = rz / php;
      for (int j = 0; j < dim; j++) {
        d[j] += alpha * p[j];
        r[j] -= alpha * hp[j];
      }
      for (int k = 0; k < n; k++) {
        q[k] += alpha * zp[k];
      }
      if (norm2(r) <= tol) {
        break;
      }
      for (int j = 0; j < dim; j++) {
        z[j] = r[j] / precond[j];
      }
      double rzNew = dot(r, z);
      double beta = rzNew / rz;
      rz = rzNew;
      for (int j = 0; j < dim; j++) {
        p[j] = z[j] + beta * p[j];
      }
    }
    return d;
  }

  /**
   * A step t > 0 along d satisfying the strong Wolfe conditions, or 0 if none is found
   * (rounding level). phi(t) = f(w + t d) is convex with phi'(0) = slope &lt; 0; its value and
   * derivatives come from the margins s + t q in O(N). Safeguarded Newton on phi' from t = 1
   * (the Newton step), bisecting a bracket [lo, hi] of the minimiser when Newton leaves it.
   */
  private double lineSearch(double[] s, double[] q, double[] w, double[] d, double f0, double slope) {
    double wd = dot(w, d);
    double dd = dot(d, d);
    double ww = dot(w, w);
    double lo = 0;
    double hi = Double.POSITIVE_INFINITY;
    double t = 1.0;
    double best = 0;
    double bestF = f0;
    // f0 carries rounding of order N ulps of the loss terms: treat smaller changes as ties.
    double slack = 1e-14 * (Math.abs(f0) + 1);
    for (int it = 0; it < MAX_LINE_SEARCH; it++) {
      double f = 0;
      double d1 = 0;
      double d2 = 0;
      for (int k = 0; k < n; k++) {
        double m = s[k] + t * q[k];
        double wk = data.weight()[k];
        f += wk * BradleyTerry.loss(m, data.y()[k]);
        d1 += wk * BradleyTerry.dLoss(m, data.y()[k]) * q[k];
        d2 += wk * BradleyTerry.curvature(m) * q[k] * q[k];
      }
      f += 0.5 * lambda * (ww + 2 * t * wd + t * t * dd);
      d1 += lambda * (wd + t * dd);
      d2 += lambda * dd;
      if (f < bestF) {
        best = t;
        bestF = f;
      }
      boolean armijo = f <= f0 + C1 * t * slope + slack;
      if (armijo && Math.abs(d1) <= C2 * Math.abs(slope)) {
        return t;
      }
      if (d1 < 0 && armijo) {
        lo = t;
      } else {
        hi = t;
      }
      double next = t - d1 / d2;
      if (!(next > lo && next < hi)) {
        next = Double.isInfinite(hi) ? 2 * t : 0.5 * (lo + hi);
      }
      if (next == t) {
        break;
      }
      t = next;
    }
    return bestF < f0 ? best : 0;
  }

  /** out[k] = v[a_k] - v[b_k]. */
  private void differences(double[] rowValues, double[] out) {
    int[] a = data.a();
    int[] b = data.b();
    for (int k = 0; k < n; k++) {
      out[k] = rowValues[a[k]] - rowValues[b[k]];
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

  private static double norm2(double[] v) {
    return Math.sqrt(dot(v, v));
  }

  static double infNorm(double[] v) {
    double m = 0;
    for (double x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
