package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.BradleyTerry;
import org.bytedeco.javacpp.FloatPointer;

/**
 * GREEDY_DOPT: repeatedly take argmax v_k z_k^T M^-1 z_k, then M += v z z^T, starting from
 * M = lambda I + F(labeled). In whitened coordinates M = L G L^T with G = I + sum_j v_j u_j u_j^T,
 * and G^-1 is kept as I - sum_j c_j g_j g_j^T (Sherman–Morrison), so one pick costs one GEMV
 * over the touched rows (t = Psi g) plus O(P) score updates: O(B (T h + P)) overall, no
 * refactorisation. When few pairs are labeled ({@link LowRankLabeled#applies}) the same
 * steps run in raw coordinates instead (M_s^-1 = M_0^-1 - sum_j c_j g_j g_j^T with M_0^-1 by
 * Woodbury): no h x h matrix, no whitening.
 */
final class GreedyDoptStrategy implements SelectionStrategy {
  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return select(in, b, LowRankLabeled.applies(in));
  }

  /** With the form forced: tests and benchmarks compare the two. */
  static StrategyResult select(StrategyInput in, int b, boolean lowRank) {
    return lowRank ? LowRankGreedy.select(in, b) : whitened(in, b);
  }

  private static StrategyResult whitened(StrategyInput in, int b) {
    Whitened w = Whitened.of(in);
    int h = w.h();
    int[] ia = w.touched().localA[0];
    int[] ib = w.touched().localB[0];
    int p = ia.length;
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
    // psi stays off-heap for the B GEMVs: passing the Java array would copy T x h floats per call.
    try (FloatPointer psiP = new FloatPointer(w.psi()); FloatPointer gP = new FloatPointer(h);
        FloatPointer projP = new FloatPointer(tt)) {
      for (int step = 0; step < b; step++) {
        CancelledException.checkSelection(in.cancelled(), "GREEDY_DOPT pick " + step);
        int k = TopK.argmax(gain);
        chosen[step] = k;
        scores[step] = gain[k];
        if (step == b - 1) {
          break;
        }
        double[] u = new double[h];
        int oa = ia[k] * h;
        int ob = ib[k] * h;
        for (int j = 0; j < h; j++) {
          u[j] = (double) w.psi()[oa + j] - w.psi()[ob + j];
        }
        double[] g = u.clone();
        for (int i = 0; i < step; i++) {
          double dot = 0;
          for (int j = 0; j < h; j++) {
            dot += gs[i][j] * u[j];
          }
          double coef = cs[i] * dot;
          for (int j = 0; j < h; j++) {
            g[j] -= coef * gs[i][j];
          }
        }
        double ug = 0;
        for (int j = 0; j < h; j++) {
          ug += u[j] * g[j];
        }
        double c = v[k] / (1 + v[k] * ug);
        gs[step] = g;
        cs[step] = c;
        for (int j = 0; j < h; j++) {
          gf[j] = (float) g[j];
        }
        gP.put(gf);
        Blas.sgemv(false, tt, h, 1f, psiP, h, gP, 0f, projP);
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
