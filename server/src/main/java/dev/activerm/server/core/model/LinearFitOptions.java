package dev.activerm.server.core.model;

/**
 * Truncated Newton (Newton-CG) for the LINEAR head: at most maxIterations Newton steps
 * (default 100, 1..1000), stopping when the infinity norm of the penalised objective's gradient is below
 * tolerance (default 1e-8; the objective is a sum over comparisons, not a mean).
 */
public record LinearFitOptions(int maxIterations, double tolerance) {
  public static final int DEFAULT_MAX_ITERATIONS = 100;
  public static final double DEFAULT_TOLERANCE = 1e-8;

  public LinearFitOptions {
    if (maxIterations < 1 || maxIterations > 1000) {
      throw new IllegalArgumentException("maxIterations is " + maxIterations + "; use 1..1000");
    }
    if (!(tolerance >= 0) || !Double.isFinite(tolerance)) {
      throw new IllegalArgumentException("tolerance is " + tolerance + "; use a finite value >= 0");
    }
  }

  public static LinearFitOptions defaults() {
    return new LinearFitOptions(DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE);
  }
}
