package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.BradleyTerry;

/**
 * BALD (Houlsby et al. 2011) under the Laplace last-layer posterior w ~ N(w_hat, Sigma),
 * Sigma = (lambda I + F(labeled))^-1 = L^-T L^-1. For pair k, f_k = w^T z_k is Gaussian with
 * mean mu_k = r_a - r_b and variance s_k^2 = ||psi_a - psi_b||^2 (psi = L^-1 phi), so
 * I(y_k; w) = H(E sigma(f)) - E H(sigma(f)) is a 1-D integral (Gauss–Hermite, 64 nodes); top b.
 */
final class BaldStrategy implements SelectionStrategy {
  static final int NODES = 64;
  private static final double[][] GH = gaussHermite(NODES);

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return select(in, b, LowRankLabeled.applies(in));
  }

  /** With the posterior variances' form forced (Woodbury or whitening): tests and benchmarks compare the two. */
  static StrategyResult select(StrategyInput in, int b, boolean lowRank) {
    if (lowRank) {
      LowRankCandidates c = LowRankCandidates.of(in);
      return StrategyResult.top(scores(c.rewardDiff(), c.quad()), b);
    }
    return StrategyResult.top(scores(Whitened.of(in)), b);
  }

  static double[] scores(Whitened w) {
    return scores(w.rewardDiff(), w.quad());
  }

  private static double[] scores(double[] rewardDiff, double[] quad) {
    double[] score = new double[quad.length];
    Parallel.forRange(score.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        score[k] = mutualInformation(rewardDiff[k], Math.sqrt(quad[k]));
      }
    });
    return score;
  }

  /** I(y; w) for f ~ N(mu, s^2), y ~ Bernoulli(sigma(f)), by Gauss–Hermite quadrature. */
  static double mutualInformation(double mu, double s) {
    double mean = 0;
    double condEntropy = 0;
    double[] x = GH[0];
    double[] wt = GH[1];
    for (int i = 0; i < x.length; i++) {
      double p = BradleyTerry.clippedSigmoid(mu + Math.sqrt(2) * s * x[i]);
      double weight = wt[i] / Math.sqrt(Math.PI);
      mean += weight * p;
      condEntropy += weight * entropy(p);
    }
    return Math.max(0, entropy(mean) - condEntropy);
  }

  static double entropy(double p) {
    double q = 1 - p;
    return (p > 0 ? -p * Math.log(p) : 0) + (q > 0 ? -q * Math.log(q) : 0);
  }

  /** Nodes and weights of n-point Gauss–Hermite quadrature (weight exp(-x^2)), Newton on the recurrence. */
  static double[][] gaussHermite(int n) {
    double[] x = new double[n];
    double[] w = new double[n];
    double pim4 = 0.7511255444649425; // pi^-1/4
    double z = 0;
    double pp = 0;
    for (int i = 0; i < (n + 1) / 2; i++) {
      if (i == 0) {
        z = Math.sqrt(2.0 * n + 1) - 1.85575 * Math.pow(2.0 * n + 1, -0.16667);
      } else if (i == 1) {
        z -= 1.14 * Math.pow(n, 0.426) / z;
      } else if (i == 2) {
        z = 1.86 * z - 0.86 * x[0];
      } else if (i == 3) {
        z = 1.91 * z - 0.91 * x[1];
      } else {
        z = 2.0 * z - x[i - 2];
      }
      for (int it = 0; it < 100; it++) {
        double p1 = pim4;
        double p2 = 0;
        for (int j = 0; j < n; j++) {
          double p3 = p2;
          p2 = p1;
          p1 = z * Math.sqrt(2.0 / (j + 1)) * p2 - Math.sqrt((double) j / (j + 1)) * p3;
        }
        pp = Math.sqrt(2.0 * n) * p2;
        double z1 = z;
        z = z1 - p1 / pp;
        if (Math.abs(z - z1) <= 1e-14 * Math.max(1, Math.abs(z))) {
          break;
        }
      }
      x[i] = z;
      x[n - 1 - i] = -z;
      w[i] = 2.0 / (pp * pp);
      w[n - 1 - i] = w[i];
    }
    return new double[][] {x, w};
  }
}
