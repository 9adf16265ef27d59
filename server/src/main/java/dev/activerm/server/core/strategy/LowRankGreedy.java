package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.BradleyTerry;
import org.bytedeco.javacpp.FloatPointer;

/**
 * GREEDY_DOPT in raw coordinates for {@link LowRankLabeled}: the same argmax / Sherman–Morrison
 * steps as {@link GreedyDoptStrategy}, with M_s^-1 = M_0^-1 - sum_j c_j g_j g_j^T,
 * g_s = M_{s-1}^-1 z_s and M_0^-1 z by Woodbury (O(n h)). One pick is one GEMV over the raw
 * touched rows (t = Phi g) plus O(P) score updates, as in the whitened form.
 */
final class LowRankGreedy {
  private LowRankGreedy() {}

  static StrategyResult select(StrategyInput in, int b) {
    LowRankCandidates w = LowRankCandidates.of(in);
    int h = w.h();
    int[] ia = w.touched().localA[0];
    int[] ib = w.touched().localB[0];
    int p = ia.length;
    float[] phi = w.phi();
    double[] v = BradleyTerry.clippedVariance(w.rewardDiff());
    double[] quad = w.quad();
    double[] gain = new double[p];
    for (int k = 0; k < p; k++) {
      gain[k] = v[k] * quad[k];
    }
    double[][] gs = new double[b][];
    double[] cs = new double[b];
    int[] chosen = new int[b];
    double[] scores = new double[b];
    float[] gf = new float[h];
    int tt = w.touched().size();
    float[] proj = new float[tt];
    try (FloatPointer phiP = new FloatPointer(phi); FloatPointer gP = new FloatPointer(h);
        FloatPointer projP = new FloatPointer(tt)) {
      for (int step = 0; step < b; step++) {
        CancelledException.checkSelection(in.cancelled(), "GREEDY_DOPT pick " + step);
        int k = TopK.argmax(gain);
        chosen[step] = k;
        scores[step] = gain[k];
        if (step == b - 1) {
          break;
        }
        double[] z = new double[h];
        int oa = ia[k] * h;
        int ob = ib[k] * h;
        for (int j = 0; j < h; j++) {
          z[j] = (double) phi[oa + j] - phi[ob + j];
        }
        double[] g = w.labeled().solve(z);
        for (int i = 0; i < step; i++) {
          double dot = 0;
          for (int j = 0; j < h; j++) {
            dot += gs[i][j] * z[j];
          }
          double coef = cs[i] * dot;
          for (int j = 0; j < h; j++) {
            g[j] -= coef * gs[i][j];
          }
        }
        double zg = 0;
        for (int j = 0; j < h; j++) {
          zg += z[j] * g[j];
        }
        double c = v[k] / (1 + v[k] * zg);
        gs[step] = g;
        cs[step] = c;
        for (int j = 0; j < h; j++) {
          gf[j] = (float) g[j];
        }
        gP.put(gf);
        Blas.sgemv(false, tt, h, 1f, phiP, h, gP, 0f, projP);
        projP.get(proj);
        Parallel.forRange(p, (from, to) -> {
          for (int kk = from; kk < to; kk++) {
            double diff = (double) proj[ia[kk]] - proj[ib[kk]];
            quad[kk] = Math.max(0, quad[kk] - c * diff * diff);
            gain[kk] = v[kk] * quad[kk];
          }
        });
        for (int i = 0; i <= step; i++) {
          gain[chosen[i]] = Double.NEGATIVE_INFINITY;
        }
      }
    }
    return new StrategyResult(chosen, scores);
  }
}
