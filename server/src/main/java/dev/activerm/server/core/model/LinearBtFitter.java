package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.RowKernels;
import java.util.function.BooleanSupplier;
import org.bytedeco.javacpp.FloatPointer;

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
 * line search on the one-dimensional restriction phi(t) = f(w + t d): with q = Z d (one pass)
 * phi, phi' and phi'' cost O(N) each, so a safeguarded Newton iteration on phi' finds a step
 * that satisfies the strong Wolfe conditions (c1 = 1e-4, c2 = 0.1).
 *
 * <p>The CG preconditioner is the diagonal of lambda I + 2 X^T diag(deg) X, deg_i the summed
 * curvature weight of the comparisons that touch row i: Z^T diag(h) Z = X^T L X with L the
 * weighted graph Laplacian of the comparisons, and L &lt;= 2 diag(deg), so this is the Jacobi
 * preconditioner of an upper bound of H, computed in the gradient's pass. It takes out the
 * column scales of the embeddings, which otherwise stall CG.
 *
 * <p>Margins, loss and gradient read the float32 rows and accumulate in double (see
 * {@link RowKernels}); margins are updated as X w + t X d and recomputed from scratch before
 * convergence is declared, so the reported gradient is exactly the one a warm start from w
 * would see, and the fixed point is the exact optimum of the objective over the float32
 * embeddings. Only the Hessian-vector products inside CG run in float32 (OpenBLAS sgemv on
 * an off-heap copy of X, freed after the fit): they steer the direction, not the point the
 * iteration converges to. Per Newton step: two double passes (X d, and X^T for gradient and
 * preconditioner together) plus two sgemv per CG step. Results are bit-identical for a given
 * OpenBLAS thread count.
 *
 * <p>Why one class of ~370 lines: the Newton loop, the CG inner solve, the line search and
 * the off-heap copy of X share one iterate and one set of buffers; split apart they would pass
 * a dozen arrays between classes and the cancellation and convergence bookkeeping twice.
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
  private final double[] rowCoef;
  private final double[] rowDeg;
  private final float[] rowF;
  private final float[] dimF;
  private final BooleanSupplier cancelled;

  public LinearBtFitter(ComparisonSet data, double lambda) {
    this(data, lambda, () -> false);
  }

  /**
   * cancelled is polled once per Newton step and once per Hessian-vector product (CG step);
   * when it turns true the fit throws {@link CancelledException}.
   */
  public LinearBtFitter(ComparisonSet data, double lambda, BooleanSupplier cancelled) {
    if (!(lambda > 0)) {
      throw new IllegalArgumentException("lambda must be > 0, got " + lambda);
    }
    this.data = data;
    this.dim = data.dim();
    this.n = data.size();
    this.rows = data.numRows();
    this.lambda = lambda;
    this.rowCoef = new double[rows];
    this.rowDeg = new double[rows];
    this.rowF = new float[rows];
    this.dimF = new float[dim];
    this.cancelled = cancelled;
  }

  /** The result: weights and the report (wall time filled by the caller). */
  public record Result(double[] weights, FitReport report) {}

  /** Margins, value, gradient, curvature weights and preconditioner at one iterate. */
  private final class State {
    final double[] rowRewards = new double[rows];
    final double[] s = new double[n];
    final double[] g = new double[dim];
    final double[] h = new double[n];
    final double[] precond = new double[dim];
    double f;
  }

  public Result fit(LinearFitOptions options, double[] start) {
    if (start != null && start.length != dim) {
      throw new IllegalArgumentException("start has length " + start.length + ", expected " + dim);
    }
    double[] w = start == null ? new double[dim] : start.clone();
    State st = new State();
    RowKernels.timesVector(data.rows(), rows, dim, w, st.rowRewards);
    evaluate(w, st);
    double gnorm = infNorm(st.g);
    double g0 = norm2(st.g);
    int iterations = 0;
    boolean converged = gnorm <= options.tolerance();
    if (converged) {
      return result(w, st, 0, gnorm, true);
    }
    double[] xd = new double[rows];
    double[] q = new double[n];
    try (Operator op = new Operator(data.rows(), rows, dim)) {
      while (!converged && iterations < options.maxIterations()) {
        if (cancelled.getAsBoolean()) {
          throw CancelledException.fit("LINEAR Newton iteration " + (iterations + 1));
        }
        double gn = norm2(st.g);
        double eta = Math.min(0.5, Math.sqrt(gn / g0));
        double[] d = conjugateGradient(op, st, eta * gn);
        double slope = dot(st.g, d);
        if (!(slope < 0)) {
          break; // CG from 0 on an SPD system always descends; only non-finite data gets here
        }
        RowKernels.timesVector(data.rows(), rows, dim, d, xd);
        differences(xd, q);
        double t = lineSearch(st.s, q, w, d, st.f, slope);
        if (t == 0) {
          break; // no decrease representable: the gradient is at rounding level
        }
        for (int j = 0; j < dim; j++) {
          w[j] += t * d[j];
        }
        for (int i = 0; i < rows; i++) {
          st.rowRewards[i] += t * xd[i];
        }
        iterations++;
        evaluate(w, st);
        gnorm = infNorm(st.g);
        if (gnorm <= options.tolerance()) {
          // Confirm on margins from scratch: exactly what a warm start from w would see.
          RowKernels.timesVector(data.rows(), rows, dim, w, st.rowRewards);
          evaluate(w, st);
          gnorm = infNorm(st.g);
          converged = gnorm <= options.tolerance();
        }
      }
    }
    return result(w, st, iterations, gnorm, converged);
  }

  private Result result(double[] w, State st, int iterations, double gnorm, boolean converged) {
    double[] la = data.lossAndAccuracy(st.rowRewards);
    if (!Double.isFinite(la[0]) || !allFinite(w)) {
      // Only embeddings too large for double arithmetic get here (|x| beyond ~1e150 in margins).
      throw ActiveRmException.failedPrecondition("Fit could not compute a finite "
          + (Double.isFinite(la[0]) ? "weight vector" : "loss") + " for the LINEAR head after " + iterations
          + " Newton iterations: the embeddings of the labeled responses are too large. Rescale them to O(1) values"
          + " and add them as new responses. Nothing was stored");
    }
    return new Result(w, new FitReport(la[0], iterations, gnorm, converged, la[1], 0.0, 0L, n));
  }

  /**
   * From st.rowRewards = X w: the margins s = Z w, f(w), the gradient
   * g = Z^T (weight (sigma(s) - y)) + lambda w, the curvature weights h = weight v and the
   * preconditioner, with one sweep over X for both the gradient and the preconditioner.
   */
  private void evaluate(double[] w, State st) {
    differences(st.rowRewards, st.s);
    double f = 0;
    java.util.Arrays.fill(rowCoef, 0.0);
    java.util.Arrays.fill(rowDeg, 0.0);
    int[] a = data.a();
    int[] b = data.b();
    for (int k = 0; k < n; k++) {
      double sk = st.s[k];
      double wk = data.weight()[k];
      f += wk * BradleyTerry.loss(sk, data.y()[k]);
      double r = wk * BradleyTerry.dLoss(sk, data.y()[k]);
      rowCoef[a[k]] += r;
      rowCoef[b[k]] -= r;
      double hk = wk * BradleyTerry.curvature(sk);
      st.h[k] = hk;
      rowDeg[a[k]] += 2 * hk;
      rowDeg[b[k]] += 2 * hk;
    }
    RowKernels.transposeTimesVectors(data.rows(), rows, dim, rowCoef, st.g, rowDeg, st.precond);
    for (int j = 0; j < dim; j++) {
      f += 0.5 * lambda * w[j] * w[j];
      st.g[j] += lambda * w[j];
      st.precond[j] += lambda;
    }
    st.f = f;
  }

  /**
   * X and the work vectors off-heap for OpenBLAS sgemv (float32): the Hessian-vector
   * products inside CG only steer the Newton direction, so float32 suffices there, while
   * every gradient and margin is double.
   */
  private static final class Operator implements AutoCloseable {
    final FloatPointer x;
    final FloatPointer rowVec;
    final FloatPointer dimVec;

    Operator(float[] x, int rows, int dim) {
      this.x = new FloatPointer(x);
      this.rowVec = new FloatPointer((long) rows);
      this.dimVec = new FloatPointer((long) dim);
    }

    @Override
    public void close() {
      x.close();
      rowVec.close();
      dimVec.close();
    }
  }

  /** (Z^T diag(h) Z + lambda I) p into out, the products in float32 (see {@link Operator}). */
  private void hessianTimes(Operator op, double[] h, double[] p, double[] out) {
    for (int j = 0; j < dim; j++) {
      dimF[j] = (float) p[j];
    }
    op.dimVec.put(dimF);
    Blas.sgemv(false, rows, dim, 1f, op.x, dim, op.dimVec, 0f, op.rowVec);
    op.rowVec.get(rowF);
    java.util.Arrays.fill(rowCoef, 0.0);
    int[] a = data.a();
    int[] b = data.b();
    for (int k = 0; k < n; k++) {
      double c = h[k] * ((double) rowF[a[k]] - rowF[b[k]]);
      rowCoef[a[k]] += c;
      rowCoef[b[k]] -= c;
    }
    for (int i = 0; i < rows; i++) {
      rowF[i] = (float) rowCoef[i];
    }
    op.rowVec.put(rowF);
    Blas.sgemv(true, rows, dim, 1f, op.x, dim, op.rowVec, 0f, op.dimVec);
    op.dimVec.get(dimF);
    for (int j = 0; j < dim; j++) {
      out[j] = dimF[j] + lambda * p[j];
    }
  }

  /**
   * Approximately solves H d = -g by conjugate gradients from d = 0, preconditioned by
   * diag(st.precond), stopping when the residual's 2-norm is at most tol.
   */
  private double[] conjugateGradient(Operator op, State st, double tol) {
    double[] d = new double[dim];
    double[] r = new double[dim];
    double[] p = new double[dim];
    double[] hp = new double[dim];
    double[] z = new double[dim];
    for (int j = 0; j < dim; j++) {
      r[j] = -st.g[j];
      z[j] = r[j] / st.precond[j];
      p[j] = z[j];
    }
    double rz = dot(r, z);
    int maxSteps = Math.min(dim, MAX_CG);
    for (int step = 0; step < maxSteps; step++) {
      CancelledException.checkFit(cancelled, "LINEAR Hessian-vector product (CG step " + (step + 1) + ")");
      hessianTimes(op, st.h, p, hp);
      double php = dot(p, hp);
      if (!(php > 0)) {
        break;
      }
      double alpha = rz / php;
      for (int j = 0; j < dim; j++) {
        d[j] += alpha * p[j];
        r[j] -= alpha * hp[j];
      }
      if (norm2(r) <= tol) {
        break;
      }
      for (int j = 0; j < dim; j++) {
        z[j] = r[j] / st.precond[j];
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
    // f is a sum of n + dim terms: changes below its rounding (~ sqrt(n + dim) ulps) are ties.
    double slack = 1e-15 * Math.sqrt(n + dim) * (Math.abs(f0) + 1);
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

  private static boolean allFinite(double[] v) {
    for (double x : v) {
      if (!Double.isFinite(x)) {
        return false;
      }
    }
    return true;
  }

  static double infNorm(double[] v) {
    double m = 0;
    for (double x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
