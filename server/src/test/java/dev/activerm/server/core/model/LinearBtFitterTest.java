package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.RowKernels;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

class LinearBtFitterTest {

  /**
   * Reference: Newton's method written with plain loops in double (gradient and Hessian of
   * sum_k weight_k BCE + lambda/2 ||w||^2 term by term, Gaussian elimination), run to
   * machine precision. Tolerance: 1e-6 relative in w (max-norm).
   */
  @Test
  void matchesAPlainLoopNewtonReferenceWithTiesAndWeights() {
    int dim = 12;
    Planted p = new Planted(80, dim, 1, x -> 0.7 * x[0] - 0.4 * x[3] + 0.2 * x[7]);
    ComparisonSet data = p.comparisons(400, 2, 0.1, true);
    double lambda = 0.5;

    LinearBtFitter.Result fit = new LinearBtFitter(data, lambda).fit(LinearFitOptions.defaults(), null);
    double[] ref = referenceNewton(data, lambda);

    assertThat(fit.report().converged()).isTrue();
    assertThat(fit.report().gradientNorm()).isLessThanOrEqualTo(1e-8);
    assertThat(maxRelDiff(fit.weights(), ref)).isLessThan(1e-6);
    assertThat(fit.report().iterations()).isBetween(1, 30);
  }

  @Test
  void recoversAPlantedLinearRewardFrom2000NoisyComparisons() {
    int dim = 64;
    java.util.Random r = new java.util.Random(11);
    double[] truth = new double[dim];
    for (int j = 0; j < dim; j++) {
      truth[j] = r.nextGaussian() * 0.3;
    }
    Planted p = new Planted(500, dim, 3, x -> {
      double s = 0;
      for (int j = 0; j < dim; j++) {
        s += truth[j] * x[j];
      }
      return s;
    });
    ComparisonSet data = p.comparisons(2000, 4, 0.0, false);
    LinearBtFitter.Result fit = new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), null);
    double[] rewards = RowKernels.rowDots(p.x, dim, fit.weights());
    assertThat(Planted.spearman(rewards, p.trueReward)).isGreaterThan(0.95);
  }

  @Test
  void warmStartFromTheOptimumConvergesWithoutSteps() {
    Planted p = new Planted(40, 6, 5, x -> x[0] - x[1]);
    ComparisonSet data = p.comparisons(200, 6, 0.0, false);
    LinearBtFitter.Result cold = new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), null);
    LinearBtFitter.Result warm = new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), cold.weights());
    assertThat(warm.report().iterations()).isZero();
    assertThat(warm.report().converged()).isTrue();
  }

  @Test
  void separableDataStaysFiniteThanksToThePrior() {
    Planted p = new Planted(30, 4, 7, x -> 1000 * x[0]);
    ComparisonSet data = p.comparisons(300, 8, 0.0, false);
    LinearBtFitter.Result fit = new LinearBtFitter(data, 1e-3).fit(LinearFitOptions.defaults(), null);
    for (double w : fit.weights()) {
      assertThat(w).isFinite();
    }
    assertThat(fit.report().trainAccuracy()).isGreaterThan(0.99);
  }

  /**
   * Badly scaled features (column scales 1e-2 .. 1e2, condition number ~1e8 of Z^T Z): the
   * conjugate-gradient solves must still reach the tolerance, and the answer must match the
   * plain-loop Newton reference to 1e-6 relative in w.
   */
  @Test
  void badlyScaledFeaturesStillConvergeToTheReference() {
    int dim = 10;
    Planted p = new Planted(60, dim, 13, x -> x[0] + 0.5 * x[9]);
    for (int i = 0; i < p.rows; i++) {
      for (int j = 0; j < dim; j++) {
        p.x[i * dim + j] *= (float) Math.pow(10, -2 + 4.0 * j / (dim - 1));
      }
    }
    ComparisonSet data = p.comparisons(300, 14, 0.05, true);
    double lambda = 1e-2;
    LinearBtFitter.Result fit = new LinearBtFitter(data, lambda).fit(LinearFitOptions.defaults(), null);
    assertThat(fit.report().converged()).isTrue();
    assertThat(maxRelDiff(fit.weights(), referenceNewton(data, lambda))).isLessThan(1e-6);
  }

  /**
   * No D limit: D = 9000 (above the 8192 the old D x D Hessian needed) with 40 rows and 80
   * comparisons fits to the default tolerance, and the gradient recomputed independently
   * (plain loops over the comparisons) is below the tolerance too (1e-10 slack for the
   * different summation order).
   */
  @Test
  void fitsAboveTheOldDimensionLimit() {
    int dim = 9000;
    Planted p = new Planted(40, dim, 17, x -> x[0] - x[1]);
    ComparisonSet data = p.comparisons(80, 18, 0.0, false);
    LinearBtFitter.Result fit = new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), null);
    assertThat(fit.report().converged()).isTrue();
    double[] g = plainGradient(data, 1.0, fit.weights());
    assertThat(LinearBtFitter.infNorm(g)).isLessThanOrEqualTo(1e-8 + 1e-10);
  }

  /** The gradient of sum_k weight_k BCE + lambda/2 ||w||^2, term by term in double. */
  static double[] plainGradient(ComparisonSet d, double lambda, double[] w) {
    int dim = d.dim();
    double[] g = new double[dim];
    for (int j = 0; j < dim; j++) {
      g[j] = lambda * w[j];
    }
    for (int k = 0; k < d.size(); k++) {
      double s = 0;
      for (int j = 0; j < dim; j++) {
        s += w[j] * ((double) d.rows()[d.a()[k] * dim + j] - (double) d.rows()[d.b()[k] * dim + j]);
      }
      double r = d.weight()[k] * (1 / (1 + Math.exp(-s)) - d.y()[k]);
      for (int j = 0; j < dim; j++) {
        g[j] += r * ((double) d.rows()[d.a()[k] * dim + j] - (double) d.rows()[d.b()[k] * dim + j]);
      }
    }
    return g;
  }

  static double[] referenceNewton(ComparisonSet d, double lambda) {
    int dim = d.dim();
    double[] w = new double[dim];
    for (int it = 0; it < 50; it++) {
      double[] g = new double[dim];
      double[] h = new double[dim * dim];
      for (int j = 0; j < dim; j++) {
        g[j] = lambda * w[j];
        h[j * dim + j] = lambda;
      }
      for (int k = 0; k < d.size(); k++) {
        double[] z = new double[dim];
        double s = 0;
        for (int j = 0; j < dim; j++) {
          z[j] = (double) d.rows()[d.a()[k] * dim + j] - (double) d.rows()[d.b()[k] * dim + j];
          s += w[j] * z[j];
        }
        double sig = 1 / (1 + Math.exp(-s));
        for (int i = 0; i < dim; i++) {
          g[i] += d.weight()[k] * (sig - d.y()[k]) * z[i];
          for (int j = 0; j < dim; j++) {
            h[i * dim + j] += d.weight()[k] * sig * (1 - sig) * z[i] * z[j];
          }
        }
      }
      double[] step = Planted.solve(h, g, dim);
      for (int j = 0; j < dim; j++) {
        w[j] -= step[j];
      }
    }
    return w;
  }

  static double maxRelDiff(double[] u, double[] v) {
    double num = 0, den = 0;
    for (int i = 0; i < u.length; i++) {
      num = Math.max(num, Math.abs(u[i] - v[i]));
      den = Math.max(den, Math.abs(v[i]));
    }
    return num / den;
  }
}
