package dev.activerm.server.core.model;

import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LaplacePosteriorTest {
  /** sd(r_a - r_b) = sqrt(z^T M^-1 z) with M = lambda I + sum weight v z z^T built with loops, solved by elimination. */
  @Test
  void differenceStddevMatchesADirectSolve() {
    int dim = 7;
    Planted p = new Planted(30, dim, 61, x -> x[0] + 0.5 * x[1]);
    ComparisonSet data = p.comparisons(120, 62, 0.1, true);
    double lambda = 2.0;
    double[] w = new LinearBtFitter(data, lambda).fit(LinearFitOptions.defaults(), null).weights();
    LinearRewardModel model = new LinearRewardModel(1, w);
    LaplacePosterior post = LaplacePosterior.build(model, data, lambda);

    double[] m = new double[dim * dim];
    for (int j = 0; j < dim; j++) {
      m[j * dim + j] = lambda;
    }
    for (int k = 0; k < data.size(); k++) {
      double[] z = diff(p.x, dim, data.a()[k], data.b()[k]);
      double s = 0;
      for (int j = 0; j < dim; j++) {
        s += w[j] * z[j];
      }
      double sig = 1 / (1 + Math.exp(-s));
      for (int i = 0; i < dim; i++) {
        for (int j = 0; j < dim; j++) {
          m[i * dim + j] += data.weight()[k] * sig * (1 - sig) * z[i] * z[j];
        }
      }
    }
    int[] a = {0, 5, 9, 29};
    int[] b = {1, 6, 3, 0};
    double[] sd = post.differenceStddev(p.x, p.rows, a, b);
    for (int k = 0; k < a.length; k++) {
      double[] z = diff(p.x, dim, a[k], b[k]);
      double[] sol = Planted.solve(m, z, dim);
      double q = 0;
      for (int j = 0; j < dim; j++) {
        q += z[j] * sol[j];
      }
      assertThat(sd[k]).isCloseTo(Math.sqrt(q), within(1e-9 * Math.sqrt(q)));
    }
  }

  private static double[] diff(float[] x, int dim, int a, int b) {
    double[] z = new double[dim];
    for (int j = 0; j < dim; j++) {
      z[j] = (double) x[a * dim + j] - x[b * dim + j];
    }
    return z;
  }
}
