package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.model.RewardModel;
import java.util.SplittableRandom;

/**
 * CORESET (Huggins, Campbell & Broderick 2016, Algorithm 1): k-means on z_k, then the
 * logistic-regression sensitivity bound
 * m_k = P / (1 + sum_i |G_i^(-k)| exp(-R ||mean(G_i^(-k)) - z_k||)), and B pairs sampled
 * without replacement with probability proportional to m_k (Efraimidis–Spirakis keys).
 * z_k is never formed for every pair: distances come from Phi C^T and ||z_k||^2.
 */
final class CoresetStrategy implements SelectionStrategy {
  private static final int MAX_ITERATIONS = 25;

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    RewardModel m = in.model();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int[] ia = t.localA[0];
    int[] ib = t.localB[0];
    int p = ia.length;
    int h = m == null ? in.pool().dim() : m.featureDim();
    int tt = t.size();
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    double[] zz = Features.pairDistances(phi, h, ia, ib, in.cancelled());
    int k = Math.min(in.params().resolve().coresetClusters(), p);
    SplittableRandom random = new SplittableRandom(in.strategySeed());

    // k-means++ seeding on z.
    float[] centers = new float[k * h];
    double[] best = new double[p];
    java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
    int first = random.nextInt(p);
    setCenter(centers, 0, phi, h, ia[first], ib[first]);
    for (int c = 1; c <= k; c++) {
      double[] d2 = distances(phi, tt, h, centers, c - 1, 1, ia, ib, zz);
      double total = 0;
      for (int i = 0; i < p; i++) {
        best[i] = Math.min(best[i], d2[i]);
        total += best[i];
      }
      if (c == k) {
        break;
      }
      double u = random.nextDouble() * total;
      int pickIdx = p - 1;
      double acc = 0;
      for (int i = 0; i < p; i++) {
        acc += best[i];
        if (acc >= u) {
          pickIdx = i;
          break;
        }
      }
      setCenter(centers, c, phi, h, ia[pickIdx], ib[pickIdx]);
    }

    // Lloyd iterations.
    int[] assign = new int[p];
    java.util.Arrays.fill(assign, -1);
    double[] dist = new double[p * k];
    int[] count = new int[k];
    for (int it = 0; it < MAX_ITERATIONS; it++) {
      CancelledException.checkSelection(in.cancelled(), "CORESET k-means");
      dist = distances(phi, tt, h, centers, 0, k, ia, ib, zz);
      boolean changed = false;
      java.util.Arrays.fill(count, 0);
      for (int i = 0; i < p; i++) {
        int bi = 0;
        for (int c = 1; c < k; c++) {
          if (dist[i * k + c] < dist[i * k + bi]) {
            bi = c;
          }
        }
        changed |= assign[i] != bi;
        assign[i] = bi;
        count[bi]++;
      }
      if (!changed) {
        break;
      }
      // centers = S^T Phi / n, S[t, c] = signed endpoint counts of cluster c.
      float[] s = new float[tt * k];
      for (int i = 0; i < p; i++) {
        s[ia[i] * k + assign[i]] += 1;
        s[ib[i] * k + assign[i]] -= 1;
      }
      float[] sum = new float[k * h];
      Blas.sgemm(true, false, k, h, tt, 1f, s, k, phi, h, 0f, sum, h);
      for (int c = 0; c < k; c++) {
        if (count[c] > 0) {
          for (int j = 0; j < h; j++) {
            centers[c * h + j] = sum[c * h + j] / count[c];
          }
        }
      }
      dist = distances(phi, tt, h, centers, 0, k, ia, ib, zz);
    }

    double radius = in.params().coresetRadius();
    if (radius == 0) {
      radius = m == null ? 1.0 : norm(m.lastLayer());
    }
    double[] sens = new double[p];
    for (int i = 0; i < p; i++) {
      int own = assign[i];
      double s = 0;
      for (int c = 0; c < k; c++) {
        double dc = Math.sqrt(Math.max(0, dist[i * k + c]));
        if (c != own) {
          s += count[c] * Math.exp(-radius * dc);
        } else if (count[c] > 1) {
          // Mean of the own cluster without k: n/(n-1) (c - z_k) away from z_k.
          double n = count[c];
          s += (n - 1) * Math.exp(-radius * n / (n - 1) * dc);
        }
      }
      sens[i] = p / (1 + s);
    }
    // Weighted sampling without replacement: top-B of log(U) / m_k.
    double[] key = new double[p];
    for (int i = 0; i < p; i++) {
      double u = random.nextDouble();
      key[i] = Math.log(Math.max(u, Double.MIN_NORMAL)) / sens[i];
    }
    int[] idx = TopK.top(key, b);
    double[] score = new double[idx.length];
    for (int i = 0; i < idx.length; i++) {
      score[i] = sens[idx[i]];
    }
    return new StrategyResult(idx, score);
  }

  private static double norm(double[] w) {
    double s = 0;
    for (double x : w) {
      s += x * x;
    }
    return Math.sqrt(s);
  }

  private static void setCenter(float[] centers, int c, float[] phi, int h, int a, int b) {
    for (int j = 0; j < h; j++) {
      centers[c * h + j] = phi[a * h + j] - phi[b * h + j];
    }
  }

  /** ||z_i - c||^2 for centers [from, from + n): p x n, row-major. */
  private static double[] distances(float[] phi, int tt, int h, float[] centers, int from, int n, int[] ia, int[] ib,
      double[] zz) {
    float[] c = java.util.Arrays.copyOfRange(centers, from * h, (from + n) * h);
    float[] g = new float[tt * n];
    Blas.sgemm(false, true, tt, n, h, 1f, phi, h, c, h, 0f, g, n);
    double[] cc = new double[n];
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int x = 0; x < h; x++) {
        s += (double) c[j * h + x] * c[j * h + x];
      }
      cc[j] = s;
    }
    int p = ia.length;
    double[] out = new double[p * n];
    for (int i = 0; i < p; i++) {
      for (int j = 0; j < n; j++) {
        double zc = (double) g[ia[i] * n + j] - g[ib[i] * n + j];
        out[i * n + j] = Math.max(0, zz[i] - 2 * zc + cc[j]);
      }
    }
    return out;
  }
}
