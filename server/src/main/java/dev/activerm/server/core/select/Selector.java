package dev.activerm.server.core.select;

import dev.activerm.server.core.linalg.Blas;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import dev.activerm.server.core.model.RewardModel;
import java.util.function.BooleanSupplier;

/**
 * Runs one strategy over one candidate set (DESIGN.md, Math). Plain arrays in, chosen
 * candidate indices and scores out; no project state, no locks, no gRPC.
 */
public final class Selector {
  private Selector() {}

  /**
   * Everything a selection reads.
   *
   * @param pool embeddings by pool row
   * @param model the fitted model, or null (then phi is the embedding; only model-free strategies)
   * @param candidates candidate pairs (pool rows)
   * @param labeled labeled and pending pairs (pool rows), one entry per observation
   * @param labeledWeights comparison weight of each labeled entry (1 for pending)
   * @param lambda prior precision of the head
   * @param labeledInfo lambda I + F(labeled) with its factor, if already known (a cache hit), or null
   */
  public record Input(
      RowSource pool,
      RewardModel model,
      PairList candidates,
      PairList labeled,
      double[] labeledWeights,
      double lambda,
      Strategy strategy,
      StrategyParams params,
      long seed,
      int batchSize,
      BooleanSupplier cancelled,
      LabeledInformation labeledInfo) {}

  /** Chosen candidate indices in the order chosen, with their scores. */
  public record Result(int[] index, double[] score) {}

  /** lambda I + F(labeled) (h x h, row-major) with its lower Cholesky factor. */
  public record LabeledInformation(int h, double[] matrix, double[] factor) {
    public long bytes() {
      return 16L * h * h + 64;
    }
  }

  /** Seed for a strategy's own randomness, decorrelated from candidate sampling. */
  static long strategySeed(long seed) {
    long z = seed + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  public static Result select(Input in) {
    int p = in.candidates().size();
    int b = Math.min(in.batchSize(), p);
    return switch (in.strategy()) {
      case RANDOM -> {
        int[] idx = CandidateGenerator.sampleIndices(p, b, strategySeed(in.seed()));
        yield new Result(idx, new double[b]);
      }
      case MAX_ENTROPY, MAX_DIFFERENCE -> rewardGap(in, b);
      case OLS_DOPT, DOPT, PAST_AWARE_DOPT -> topBDesign(in, b);
      case GREEDY_DOPT -> greedy(in, b);
      case CORESET -> Coreset.select(in, b);
      case BALD -> Bald.bald(in, b);
      case BATCHBALD -> Bald.batchBald(in, b);
    };
  }

  private static Result rewardGap(Input in, int b) {
    RewardModel m = in.model();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int h = m.featureDim();
    float[] phi = FisherMath.features(in.pool(), m, t.rows, true, in.cancelled());
    double[] d = FisherMath.rewardDiffs(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]);
    double sign = in.strategy() == Strategy.MAX_ENTROPY ? -1 : 1;
    double[] score = new double[d.length];
    for (int k = 0; k < d.length; k++) {
      score[k] = sign * Math.abs(d[k]);
    }
    return pick(score, b);
  }

  static Result pick(double[] score, int b) {
    int[] idx = TopK.top(score, b);
    double[] s = new double[idx.length];
    for (int i = 0; i < idx.length; i++) {
      s[i] = score[idx[i]];
    }
    return new Result(idx, s);
  }

  /** OLS_DOPT, DOPT, PAST_AWARE_DOPT: top-B of v_k z_k^T (eps I + F(cand) [+ F(labeled)])^-1 z_k. */
  private static Result topBDesign(Input in, int b) {
    Scored s = designScores(in);
    return pick(s.score, b);
  }

  /** The per-candidate scores of OLS_DOPT / DOPT / PAST_AWARE_DOPT (exposed for tests). */
  public static double[] designScoresForTest(Input in) {
    return designScores(in).score;
  }

  private record Scored(double[] score) {}

  private static Scored designScores(Input in) {
    RewardModel m = in.model();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int[] ia = t.localA[0];
    int[] ib = t.localB[0];
    int h = m == null ? in.pool().dim() : m.featureDim();
    float[] phi = FisherMath.features(in.pool(), m, t.rows, true, in.cancelled());
    double[] v;
    if (in.strategy() == Strategy.OLS_DOPT) {
      v = new double[ia.length];
      java.util.Arrays.fill(v, 1.0);
    } else {
      v = FisherMath.bernoulliVariance(FisherMath.rewardDiffs(phi, t.size(), h, m.lastLayer(), ia, ib));
    }
    double[] f = new double[h * h];
    FisherMath.addLaplacianFisher(phi, t.size(), h, ia, ib, v, f, in.cancelled());
    if (in.strategy() == Strategy.PAST_AWARE_DOPT) {
      LabeledInformation li = labeledInformation(in);
      for (int i = 0; i < h * h; i++) {
        f[i] += li.matrix()[i];
      }
      FisherMath.addDiagonal(f, h, -in.lambda());
    }
    double eps = in.params().ridge() > 0 ? in.params().ridge() : defaultRidge(f, h);
    FisherMath.addDiagonal(f, h, eps);
    double[] l = FisherMath.cholesky(f, h);
    FisherMath.whiten(phi, t.size(), h, l);
    double[] q = FisherMath.pairSquaredDistances(phi, h, ia, ib, in.cancelled());
    for (int k = 0; k < q.length; k++) {
      q[k] *= v[k];
    }
    return new Scored(q);
  }

  /** eps = 1e-6 * trace / h (1e-6 when the matrix is zero). */
  public static double defaultRidge(double[] f, int h) {
    double tr = FisherMath.trace(f, h);
    return tr > 0 ? 1e-6 * tr / h : 1e-6;
  }

  /** lambda I + F(labeled), v from the model (weights times v per labeled entry). */
  public static LabeledInformation labeledInformation(Input in) {
    if (in.labeledInfo() != null) {
      return in.labeledInfo();
    }
    RewardModel m = in.model();
    int h = m.featureDim();
    double[] f = new double[h * h];
    PairList lab = in.labeled();
    if (lab.size() > 0) {
      Touched t = Touched.of(in.pool().rows(), lab);
      float[] phi = FisherMath.features(in.pool(), m, t.rows, true, in.cancelled());
      double[] v = FisherMath.bernoulliVariance(
          FisherMath.rewardDiffs(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]));
      for (int k = 0; k < v.length; k++) {
        v[k] *= in.labeledWeights()[k];
      }
      FisherMath.addLaplacianFisher(phi, t.size(), h, t.localA[0], t.localB[0], v, f, in.cancelled());
    }
    FisherMath.addDiagonal(f, h, in.lambda());
    return new LabeledInformation(h, f, FisherMath.cholesky(f, h));
  }

  /** Whitened candidate state shared by GREEDY_DOPT and the BALD family. */
  record Whitened(Touched touched, int h, float[] psi, double[] rewardDiff, double[] quad) {}

  /** psi = L^-1 phi with L L^T = lambda I + F(labeled), mu = r_a - r_b and ||psi_a - psi_b||^2. */
  static Whitened whitened(Input in) {
    RewardModel m = in.model();
    LabeledInformation li = labeledInformation(in);
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int h = m.featureDim();
    float[] phi = FisherMath.features(in.pool(), m, t.rows, true, in.cancelled());
    double[] d = FisherMath.rewardDiffs(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]);
    FisherMath.whiten(phi, t.size(), h, li.factor());
    double[] q = FisherMath.pairSquaredDistances(phi, h, t.localA[0], t.localB[0], in.cancelled());
    return new Whitened(t, h, phi, d, q);
  }

  /**
   * GREEDY_DOPT: repeatedly take argmax v_k z_k^T M^-1 z_k, then M += v z z^T. In whitened
   * coordinates M = L G L^T with G = I + sum_j v_j u_j u_j^T, and G^-1 is kept as
   * I - sum_j c_j g_j g_j^T (Sherman–Morrison), so one pick costs one GEMV over the touched
   * rows (t = Psi g) plus O(P) score updates: O(B (T h + P)) overall, no refactorisation.
   */
  private static Result greedy(Input in, int b) {
    Whitened w = whitened(in);
    int h = w.h();
    int[] ia = w.touched().localA[0];
    int[] ib = w.touched().localB[0];
    int p = ia.length;
    double[] v = FisherMath.bernoulliVariance(w.rewardDiff());
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
      Cancellation.check(in.cancelled(), "GREEDY_DOPT pick " + step);
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
      openblas_nolapack.cblas_sgemv(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans, tt, h, 1f, psiP, h,
          gP, 1, 0f, projP, 1);
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
    return new Result(chosen, scores);
  }
}
