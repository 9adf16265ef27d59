package dev.activerm.server.core.select;

import dev.activerm.server.core.linalg.Blas;
import java.util.SplittableRandom;

/**
 * BALD and BatchBALD under the Laplace last-layer posterior w ~ N(w_hat, Sigma),
 * Sigma = (lambda I + F(labeled))^-1 = L^-T L^-1. For pair k, f_k = w^T z_k is Gaussian with
 * mean mu_k = r_a - r_b and variance s_k^2 = ||psi_a - psi_b||^2 (psi = L^-1 phi), so
 * BALD's I(y_k; w) = H(E sigma(f)) - E H(sigma(f)) is a 1-D integral (Gauss–Hermite,
 * 64 nodes). BatchBALD (Kirsch et al. 2019) picks greedily by the joint mutual information
 * estimated from S posterior samples: w_s = w_hat + L^-T e_s, so f_{k,s} = mu_k + e_s^T u_k.
 */
final class Bald {
  static final int NODES = 64;
  private static final double[][] GH = gaussHermite(NODES);

  private Bald() {}

  static Selector.Result bald(Selector.Input in, int b) {
    Selector.Whitened w = Selector.whitened(in);
    return Selector.pick(scores(w), b);
  }

  static double[] scores(Selector.Whitened w) {
    double[] score = new double[w.quad().length];
    Parallel.forRange(score.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        score[k] = mutualInformation(w.rewardDiff()[k], Math.sqrt(w.quad()[k]));
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
      double p = FisherMath.sigmoid(mu + Math.sqrt(2) * s * x[i]);
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

  static Selector.Result batchBald(Selector.Input in, int b) {
    StrategyParams params = in.params().resolve();
    Selector.Whitened w = Selector.whitened(in);
    int h = w.h();
    double[] bald = scores(w);
    int p = bald.length;
    int poolSize = params.batchBaldPool() > 0 ? params.batchBaldPool() : Math.max(1000, 10 * b);
    poolSize = Math.max(b, Math.min(p, poolSize));
    int[] pool = TopK.top(bald, poolSize);
    int n = pool.length;
    int samples = params.posteriorSamples();
    SplittableRandom random = new SplittableRandom(Selector.strategySeed(in.seed()));
    float[] eps = new float[samples * h];
    for (int i = 0; i < eps.length; i++) {
      eps[i] = (float) random.nextGaussian();
    }
    // psi rows of the pool's endpoints, then E = Psi_pool Eps^T.
    int[] ia = w.touched().localA[0];
    int[] ib = w.touched().localB[0];
    float[] psiPool = new float[2 * n * h];
    for (int i = 0; i < n; i++) {
      System.arraycopy(w.psi(), ia[pool[i]] * h, psiPool, (2 * i) * h, h);
      System.arraycopy(w.psi(), ib[pool[i]] * h, psiPool, (2 * i + 1) * h, h);
    }
    float[] e = new float[2 * n * samples];
    Blas.sgemm(false, true, 2 * n, samples, h, 1f, psiPool, h, eps, h, 0f, e, samples);
    double[] prob = new double[n * samples];
    double[] cond = new double[n];
    for (int i = 0; i < n; i++) {
      double mu = w.rewardDiff()[pool[i]];
      double c = 0;
      for (int s = 0; s < samples; s++) {
        double pr = FisherMath.sigmoid(mu + e[(2 * i) * samples + s] - e[(2 * i + 1) * samples + s]);
        prob[i * samples + s] = pr;
        c += entropy(pr);
      }
      cond[i] = c / samples;
    }
    JointEstimator joint = new JointEstimator(samples, params.batchBaldConfigurations(), random);
    boolean[] taken = new boolean[n];
    int[] chosen = new int[b];
    double[] score = new double[b];
    double condSum = 0;
    double previous = 0;
    int[] chosenPool = new int[b];
    for (int step = 0; step < b; step++) {
      Cancellation.check(in.cancelled(), "BATCHBALD pick " + step);
      double[] jointEntropy = joint.entropyWith(prob, n);
      int bestI = -1;
      double bestMi = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        if (taken[i]) {
          continue;
        }
        double mi = jointEntropy[i] - condSum - cond[i];
        if (bestI < 0 || mi > bestMi) {
          bestI = i;
          bestMi = mi;
        }
      }
      taken[bestI] = true;
      chosenPool[step] = bestI;
      chosen[step] = pool[bestI];
      score[step] = bestMi - previous;
      previous = bestMi;
      condSum += cond[bestI];
      if (step < b - 1) {
        joint.add(prob, bestI, chosenPool, step + 1);
      }
    }
    return new Selector.Result(chosen, score);
  }

  /**
   * Joint label distribution of the chosen pairs, as rows of Q[c, s] = P(config c | w_s)
   * (times a per-row scale), enumerated exactly while at most maxConfigs configurations,
   * then sampled (Kirsch et al. 2019, importance-weighted estimate).
   */
  static final class JointEstimator {
    private final int samples;
    private final int maxConfigs;
    private final SplittableRandom random;
    private double[] q;
    private int rows;
    private double[] rowWeight;
    private double[] rowShift;

    JointEstimator(int samples, int maxConfigs, SplittableRandom random) {
      this.samples = samples;
      this.maxConfigs = maxConfigs;
      this.random = random;
      this.q = new double[samples];
      java.util.Arrays.fill(q, 1.0);
      this.rows = 1;
      this.rowWeight = new double[] {1};
      this.rowShift = new double[] {0};
    }

    /** H(y_chosen, y_i) for every pool candidate i. */
    double[] entropyWith(double[] prob, int n) {
      double[] m1 = new double[rows * n];
      Blas.dgemm(false, true, rows, n, samples, 1.0 / samples, q, samples, prob, samples, 0, m1, n);
      double[] qMean = new double[rows];
      for (int c = 0; c < rows; c++) {
        double s = 0;
        for (int x = 0; x < samples; x++) {
          s += q[c * samples + x];
        }
        qMean[c] = s / samples;
      }
      double[] h = new double[n];
      for (int c = 0; c < rows; c++) {
        for (int i = 0; i < n; i++) {
          double a = m1[c * n + i];
          double z = qMean[c] - a;
          h[i] += rowWeight[c] * (term(a, rowShift[c]) + term(z, rowShift[c]));
        }
      }
      return h;
    }

    private static double term(double m, double shift) {
      return m > 0 ? m * (-Math.log(m) + shift) : 0;
    }

    /** Adds pool candidate i (the count-th chosen; chosen[0..count) are all of them). */
    void add(double[] prob, int i, int[] chosen, int count) {
      if (2L * rows <= maxConfigs) {
        double[] next = new double[2 * rows * samples];
        for (int c = 0; c < rows; c++) {
          for (int s = 0; s < samples; s++) {
            double pr = prob[i * samples + s];
            next[(2 * c) * samples + s] = q[c * samples + s] * pr;
            next[(2 * c + 1) * samples + s] = q[c * samples + s] * (1 - pr);
          }
        }
        q = next;
        rows *= 2;
        rowWeight = new double[rows];
        rowShift = new double[rows];
        java.util.Arrays.fill(rowWeight, 1.0);
        return;
      }
      // Sample maxConfigs configurations y ~ p(y | w_s), s uniform; keep rows in log scale.
      rows = maxConfigs;
      q = new double[rows * samples];
      rowWeight = new double[rows];
      rowShift = new double[rows];
      boolean[] y = new boolean[count];
      double[] logRow = new double[samples];
      for (int c = 0; c < rows; c++) {
        int s0 = random.nextInt(samples);
        for (int j = 0; j < count; j++) {
          y[j] = random.nextDouble() < prob[chosen[j] * samples + s0];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < samples; s++) {
          double l = 0;
          for (int j = 0; j < count; j++) {
            double pr = prob[chosen[j] * samples + s];
            l += Math.log(y[j] ? pr : 1 - pr);
          }
          logRow[s] = l;
          max = Math.max(max, l);
        }
        double mean = 0;
        for (int s = 0; s < samples; s++) {
          double v = Math.exp(logRow[s] - max);
          q[c * samples + s] = v;
          mean += v;
        }
        mean /= samples;
        rowShift[c] = -max;
        rowWeight[c] = 1.0 / (rows * mean);
      }
    }
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
