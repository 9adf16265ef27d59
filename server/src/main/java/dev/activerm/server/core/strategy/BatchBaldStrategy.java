package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.BradleyTerry;
import java.util.SplittableRandom;

/**
 * BATCHBALD (Kirsch et al. 2019) under the Laplace last-layer posterior (see {@link BaldStrategy}):
 * picks greedily by the joint mutual information estimated from S posterior samples
 * w_s = w_hat + L^-T e_s, so f_{k,s} = mu_k + e_s^T u_k. Each pick adds the candidate of largest
 * I(y_i; w | y_chosen), estimated from the chosen pairs' label configurations
 * ({@link JointEstimator}); the picks' gains sum to the joint MI.
 */
final class BatchBaldStrategy implements SelectionStrategy {
  @Override
  public StrategyResult select(StrategyInput in, int b) {
    StrategyParams params = in.params().resolve();
    Whitened w = Whitened.of(in);
    double[] bald = BaldStrategy.scores(w);
    int poolSize = params.batchBaldPool() > 0 ? params.batchBaldPool() : Math.max(1000, 10 * b);
    poolSize = Math.max(b, Math.min(bald.length, poolSize));
    int[] pool = TopK.top(bald, poolSize);
    int n = pool.length;
    SplittableRandom random = new SplittableRandom(in.strategySeed());
    PosteriorLabels labels = posteriorLabels(w, pool, params.posteriorSamples(), random);
    JointEstimator joint = new JointEstimator(labels, params.batchBaldConfigurations(), random);
    boolean[] taken = new boolean[n];
    int[] chosen = new int[b];
    double[] score = new double[b];
    for (int step = 0; step < b; step++) {
      CancelledException.checkSelection(in.cancelled(), "BATCHBALD pick " + step);
      // I(y_chosen, y_i; w) = I(y_chosen; w) + I(y_i; w | y_chosen): the first term is common
      // to all candidates, so the greedy pick maximises the gain and the gains sum to the total.
      double[] gain = joint.informationGains();
      int best = -1;
      for (int i = 0; i < n; i++) {
        if (!taken[i] && (best < 0 || gain[i] > gain[best])) {
          best = i;
        }
      }
      taken[best] = true;
      chosen[step] = pool[best];
      score[step] = gain[best];
      if (step < b - 1) {
        joint.add(best);
      }
    }
    return new StrategyResult(chosen, score);
  }

  /**
   * I(y_k; w | y_{<k}) for the candidates pairs[0..], added in that order, as BATCHBALD
   * estimates them: their sum is the joint mutual information of the batch (what benchmarks
   * and tests check against a direct Monte-Carlo estimate).
   */
  public static double[] informationGains(StrategyInput in, int[] pairs) {
    StrategyParams params = in.params().resolve();
    SplittableRandom random = new SplittableRandom(in.strategySeed());
    PosteriorLabels labels = posteriorLabels(Whitened.of(in), pairs, params.posteriorSamples(), random);
    JointEstimator joint = new JointEstimator(labels, params.batchBaldConfigurations(), random);
    double[] gains = new double[pairs.length];
    for (int k = 0; k < pairs.length; k++) {
      gains[k] = joint.informationGains()[k];
      if (k < pairs.length - 1) {
        joint.add(k);
      }
    }
    return gains;
  }

  /**
   * Label probabilities of the pool's pairs under S posterior samples: prob[i * S + s] =
   * sigma(f_{i,s}) and ent[i * S + s] = H(y_i | w_s).
   */
  record PosteriorLabels(int n, int samples, double[] prob, double[] ent) {}

  static PosteriorLabels posteriorLabels(Whitened w, int[] pool, int samples, SplittableRandom random) {
    int h = w.h();
    int n = pool.length;
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
    double[] ent = new double[n * samples];
    for (int i = 0; i < n; i++) {
      double mu = w.rewardDiff()[pool[i]];
      for (int s = 0; s < samples; s++) {
        double pr = BradleyTerry.clippedSigmoid(mu + e[(2 * i) * samples + s] - e[(2 * i + 1) * samples + s]);
        prob[i * samples + s] = pr;
        ent[i * samples + s] = BaldStrategy.entropy(pr);
      }
    }
    return new PosteriorLabels(n, samples, prob, ent);
  }

  /**
   * The joint label distribution of the chosen pairs as weighted configurations c of their
   * labels: weight[c] estimates P(c), and post[c, s] = P(w_s | c), i.e. P(c | w_s) normalised
   * over s, so rows never underflow however many labels they hold. Adding a pair branches every
   * configuration on the new label. While the branches with positive weight fit in maxConfigs
   * they are all kept with their exact weights (exact enumeration); otherwise they are
   * {@link #resample resampled} to maxConfigs units of weight 1 / maxConfigs. Posterior rows are
   * exact for the configurations kept and the weights are unbiased, so every estimate below is
   * unbiased for its value on the S samples.
   */
  static final class JointEstimator {
    private final PosteriorLabels labels;
    private final int maxConfigs;
    private final SplittableRandom random;
    private int rows;
    private double[] post;
    private double[] weight;

    JointEstimator(PosteriorLabels labels, int maxConfigs, SplittableRandom random) {
      this.labels = labels;
      this.maxConfigs = maxConfigs;
      this.random = random;
      this.rows = 1;
      this.post = new double[labels.samples()];
      java.util.Arrays.fill(post, 1.0 / labels.samples());
      this.weight = new double[] {1};
    }

    /**
     * I(y_i; w | y_chosen) = sum_c P(c) I(y_i; w | c) for every pool candidate i, where
     * I(y_i; w | c) = H(P(y_i | c)) - sum_s post[c, s] H(y_i | w_s) >= 0. Each term is bounded
     * (unlike the -log P(c) terms of H(y_chosen, y_i)), and it vanishes once a configuration's
     * posterior has collapsed onto one sample, whatever the weights' resampling noise: the
     * conditional entropy is taken under the configurations' own mixture sum_c P(c) post[c, s]
     * (1/S when enumerated) rather than the uniform 1/S.
     */
    double[] informationGains() {
      int n = labels.n();
      int samples = labels.samples();
      double[] pred = new double[rows * n];
      Blas.dgemm(false, true, rows, n, samples, 1.0, post, samples, labels.prob(), samples, 0, pred, n);
      double[] mixture = new double[samples];
      for (int c = 0; c < rows; c++) {
        for (int s = 0; s < samples; s++) {
          mixture[s] += weight[c] * post[c * samples + s];
        }
      }
      double[] cond = new double[n];
      Blas.dgemm(false, true, 1, n, samples, 1.0, mixture, samples, labels.ent(), samples, 0, cond, n);
      double[] gain = new double[n];
      // Each candidate sums over configurations in a fixed order: bit-identical for any split.
      int parts = (int) Math.min(Parallel.threads(), Math.max(1, (long) rows * n / 65_536));
      Parallel.forParts(parts, part -> {
        int from = (int) ((long) n * part / parts);
        int to = (int) ((long) n * (part + 1) / parts);
        for (int c = 0; c < rows; c++) {
          double wc = weight[c];
          for (int i = from; i < to; i++) {
            gain[i] += wc * BaldStrategy.entropy(pred[c * n + i]);
          }
        }
        for (int i = from; i < to; i++) {
          gain[i] -= cond[i];
        }
      });
      return gain;
    }

    /** Adds pool candidate i to the chosen pairs: O(maxConfigs * S). */
    void add(int i) {
      int samples = labels.samples();
      double[] prob = labels.prob();
      // Branch 2c + y of configuration c takes y_i = y, with P(y_i = 1 | c) = sum_s post[c, s] p_s.
      double[] branchProb = new double[2 * rows];
      double[] branchWeight = new double[2 * rows];
      double total = 0;
      for (int c = 0; c < rows; c++) {
        double one = 0;
        double zero = 0;
        for (int s = 0; s < samples; s++) {
          double pr = prob[i * samples + s];
          one += post[c * samples + s] * pr;
          zero += post[c * samples + s] * (1 - pr);
        }
        branchProb[2 * c] = zero;
        branchProb[2 * c + 1] = one;
        branchWeight[2 * c] = weight[c] * zero;
        branchWeight[2 * c + 1] = weight[c] * one;
        total += branchWeight[2 * c] + branchWeight[2 * c + 1];
      }
      for (int j = 0; j < branchWeight.length; j++) {
        branchWeight[j] /= total;
      }
      double[] kept = positive(branchWeight) <= maxConfigs ? branchWeight : resample(branchWeight, maxConfigs, random);
      int next = positive(kept);
      double[] nextPost = new double[next * samples];
      double[] nextWeight = new double[next];
      int r = 0;
      for (int j = 0; j < kept.length; j++) {
        if (kept[j] > 0) {
          branchRow(j / 2, j % 2 == 1, branchProb[j], prob, i, nextPost, r);
          nextWeight[r++] = kept[j];
        }
      }
      rows = next;
      post = nextPost;
      weight = nextWeight;
    }

    /** post[c, .] times P(y_i = y | w_s), normalised by norm = P(y_i = y | c), into row r of dst. */
    private void branchRow(int c, boolean y, double norm, double[] prob, int i, double[] dst, int r) {
      int samples = labels.samples();
      for (int s = 0; s < samples; s++) {
        double pr = prob[i * samples + s];
        dst[r * samples + s] = post[c * samples + s] * (y ? pr : 1 - pr) / norm;
      }
    }
  }

  private static int positive(double[] w) {
    int count = 0;
    for (double v : w) {
      count += v > 0 ? 1 : 0;
    }
    return count;
  }

  /**
   * Stratified resampling of weights w (summing to 1, branches of one configuration adjacent)
   * to m units: result_j = k_j / m for whole k_j with E[k_j] = m w_j, unit t falling at
   * t + u_t with its own uniform u_t. A configuration holding k whole units therefore passes
   * exactly k to its two branches, split at random only by the one unit straddling the boundary,
   * independently of every other configuration. (One shared uniform, systematic resampling,
   * would make all single-unit configurations choose their labels together, and a sample whose
   * error no longer shrinks with m.)
   */
  static double[] resample(double[] w, int m, SplittableRandom random) {
    double[] out = new double[w.length];
    double cum = 0;
    int taken = 0;
    double point = random.nextDouble();
    for (int j = 0; j < w.length; j++) {
      cum += m * w[j];
      int k = 0;
      while (taken < m && point < cum) {
        taken++;
        k++;
        point = taken + random.nextDouble();
      }
      out[j] = k;
    }
    // Rounding can leave the last unit untaken; normalise by what was.
    for (int j = 0; j < out.length; j++) {
      out[j] /= taken;
    }
    return out;
  }

}
