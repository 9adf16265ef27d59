package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.Violations;

/**
 * Truncated Newton (Newton-CG) for the LINEAR head: at most maxIterations Newton steps
 * (default 100, 1..1000), stopping when the infinity norm of the penalised objective's gradient
 * is below tolerance (default 1e-8, finite and > 0; the objective is a sum over comparisons,
 * not a mean). This record owns the defaults and the ranges; the wire's 0 means "default".
 */
public record LinearFitOptions(int maxIterations, double tolerance) {
  public static final int DEFAULT_MAX_ITERATIONS = 100;
  public static final double DEFAULT_TOLERANCE = 1e-8;
  public static final int MAX_ITERATIONS = 1000;

  public LinearFitOptions {
    if (!iterationsOk(maxIterations)) {
      throw new IllegalArgumentException("maxIterations is " + maxIterations + "; use 1.." + MAX_ITERATIONS);
    }
    if (!toleranceOk(tolerance)) {
      throw new IllegalArgumentException("tolerance is " + tolerance + "; use a finite value > 0");
    }
  }

  public static LinearFitOptions defaults() {
    return new LinearFitOptions(DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE);
  }

  /**
   * The options a request asks for, 0 meaning the default; null (with a violation per bad
   * field, named as in FitRequest under prefix, e.g. "linear.") when out of range.
   */
  public static LinearFitOptions fromRequest(int maxIterations, double tolerance, String prefix, Violations v) {
    int iterations = maxIterations == 0 ? DEFAULT_MAX_ITERATIONS : maxIterations;
    double tol = tolerance == 0 ? DEFAULT_TOLERANCE : tolerance;
    int before = v.count();
    if (!iterationsOk(iterations)) {
      v.add(prefix + "max_iterations", "is " + maxIterations + "; use 0.." + MAX_ITERATIONS
          + " (0 means " + DEFAULT_MAX_ITERATIONS + ")");
    }
    if (!toleranceOk(tol)) {
      v.add(prefix + "tolerance", "is " + tolerance + "; use a finite value >= 0 (0 means 1e-8)");
    }
    return v.count() == before ? new LinearFitOptions(iterations, tol) : null;
  }

  private static boolean iterationsOk(int n) {
    return n >= 1 && n <= MAX_ITERATIONS;
  }

  private static boolean toleranceOk(double t) {
    return t > 0 && Double.isFinite(t);
  }
}
