package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import java.util.function.UnaryOperator;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The greedy D-optimal picks shared by both forms of GREEDY_DOPT: repeatedly take
 * argmax v_k z_k^T M^-1 z_k, then M += v z z^T. M_s^-1 is kept as
 * M_0^-1 - sum_j c_j g_j g_j^T (Sherman–Morrison) with g_s = M_{s-1}^-1 z_s, so one pick costs
 * one GEMV over the touched rows (t = X g) plus O(P) score updates, no refactorisation. The
 * whitened form passes psi rows and M_0^-1 = I; the low-rank form passes raw phi rows and
 * M_0^-1 by Woodbury.
 */
final class GreedyPicks {
  private GreedyPicks() {}

  /**
   * @param rows touched feature rows (tt x h, row-major) the candidates' z are differences of
   * @param v Bernoulli weight per candidate
   * @param quad z_k^T M_0^-1 z_k per candidate (updated in place)
   * @param m0Inverse z -> M_0^-1 z (a new array)
   */
  static StrategyResult run(StrategyInput in, int b, float[] rows, int tt, int h, int[] ia, int[] ib, double[] v,
      double[] quad, UnaryOperator<double[]> m0Inverse) {
    int p = ia.length;
    double[] gain = new double[p];
    for (int k = 0; k < p; k++) {
      gain[k] = v[k] * quad[k];
    }
    double[][] gs = new double[b][];
    double[] cs = new double[b];
    int[] chosen = new int[b];
    double[] scores = new double[b];
    float[] gf = new float[h];
    float[] proj = new float[tt];
    // The rows stay off-heap for the B GEMVs: passing the Java array would copy T x h floats per call.
    try (FloatPointer rowsP = new FloatPointer(rows); FloatPointer gP = new FloatPointer(h);
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
          z[j] = (double) rows[oa + j] - rows[ob + j];
        }
        double[] g = m0Inverse.apply(z);
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
        Blas.sgemv(false, tt, h, 1f, rowsP, h, gP, 0f, projP);
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
