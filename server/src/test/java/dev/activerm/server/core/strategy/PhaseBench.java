package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.selection.CandidateGenerator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark (not a test): where one LINEAR selection's time goes at the label-efficiency size
 * (pool R rows, candidates P CROSS_PROMPT pairs over the first C rows, n labeled pairs over the
 * whole pool, D wide), step by step as DesignStrategy, LabeledInformation and BatchInformation
 * run them, in Parallel.serially (the work-size policy's mode at this size). Prints the median
 * ms of each step over the reps. Args: R C P n D reps.
 */
public final class PhaseBench {
  private static final Map<String, List<Double>> times = new LinkedHashMap<>();

  private static long t0;

  private static void start() {
    t0 = System.nanoTime();
  }

  private static void lap(String what) {
    long t1 = System.nanoTime();
    times.computeIfAbsent(what, k -> new ArrayList<>()).add((t1 - t0) / 1e6);
    t0 = t1;
  }

  public static void main(String[] args) {
    int r = Integer.parseInt(args[0]);
    int c = Integer.parseInt(args[1]);
    int p = Integer.parseInt(args[2]);
    int n = Integer.parseInt(args[3]);
    int d = Integer.parseInt(args[4]);
    int reps = Integer.parseInt(args[5]);
    // BenchData's pool, model and labeled pairs (same seeds); the candidates over the first c rows only.
    BenchData data = BenchData.linear(r, p, d, 2, n);
    RowSource pool = data.pool();
    LinearRewardModel model = data.model();
    PairList cand = CandidateGenerator.crossPrompt(c, p, k -> false, 0, 7, CancelledException.NEVER);
    PairList lab = data.lab();
    double[] labW = data.labW();
    StrategyInput in = new StrategyInput(pool, model, cand, lab, labW, 1.0, Strategy.DOPT,
        StrategyParams.DEFAULTS.resolve(), 0, 64, CancelledException.NEVER, null);
    for (int rep = 0; rep < reps; rep++) {
      Parallel.serially(() -> {
        once(in);
        return null;
      });
    }
    System.out.printf("phases: R=%d C=%d P=%d n=%d D=%d reps=%d (median ms, first half of reps dropped)%n", r, c, p, n,
        d, reps);
    for (Map.Entry<String, List<Double>> e : times.entrySet()) {
      List<Double> v = e.getValue().subList(e.getValue().size() / 2, e.getValue().size());
      double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      System.out.printf("  %-40s %8.2f (min %.2f)%n", e.getKey(), s[s.length / 2], s[0]);
    }
  }

  private static void once(StrategyInput in) {
    dev.activerm.server.core.model.RewardModel m = in.model();
    int h = m.featureDim();
    long all = System.nanoTime();
    start();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    lap("dopt: touched");
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    lap("dopt: features (copy + centre)");
    double[] v = BradleyTerry.clippedVariance(Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), t.localA[0],
        t.localB[0]));
    lap("dopt: margins (sgemv) + variance");
    double[] f = new double[h * h];
    LaplacianGram.accumulate(phi, t.size(), h, t.localA[0], t.localB[0], v, f, in.cancelled());
    lap("dopt: F(cand) LaplacianGram");
    double eps = DesignStrategy.defaultRidge(f, h);
    DenseMatrices.addDiagonal(f, h, eps);
    double[] l = DenseMatrices.choleskyLower(f, h);
    lap("dopt: cholesky (ojAlgo)");
    Whitening.whiten(phi, t.size(), h, l);
    lap("dopt: whiten (strsm)");
    double[] q = Features.pairDistances(phi, h, t.localA[0], t.localB[0], in.cancelled());
    for (int k = 0; k < q.length; k++) {
      q[k] *= v[k];
    }
    lap("dopt: pair distances");
    StrategyResult res = StrategyResult.top(q, 64);
    lap("dopt: top");
    times.computeIfAbsent("DOPT strategy total", k -> new ArrayList<>()).add((System.nanoTime() - all) / 1e6);
    int[] a = new int[64];
    int[] b = new int[64];
    for (int i = 0; i < 64; i++) {
      a[i] = in.candidates().a()[res.index()[i]];
      b[i] = in.candidates().b()[res.index()[i]];
    }
    long g0 = System.nanoTime();
    start();
    LabeledInformation li = LabeledInformation.compute(in);
    lap("gain: LabeledInformation.compute");
    li.factor();
    lap("gain: its factor (ojAlgo)");
    BatchInformation.logDetGain(in.withLabeledInfo(li), a, b);
    lap("gain: BatchInformation.logDetGain");
    times.computeIfAbsent("gain total", k -> new ArrayList<>()).add((System.nanoTime() - g0) / 1e6);
    StrategyInput gin = new StrategyInput(in.pool(), m, in.candidates(), in.labeled(), in.labeledWeights(), 1.0,
        Strategy.GREEDY_DOPT, in.params(), 0, 64, in.cancelled(), li);
    li.factor();
    start();
    Whitened wh = Whitened.of(gin);
    lap("greedy: Whitened.of (features, margins, strsm, distances)");
    GreedyPicks.run(gin, 64, wh.psi(), wh.touched().size(), wh.h(), wh.touched().localA[0], wh.touched().localB[0],
        BradleyTerry.clippedVariance(wh.rewardDiff()), wh.quad(), double[]::clone);
    lap("greedy: GreedyPicks.run (64 picks)");
    start();
    double own = BatchInformation.ownLogDetGain(in, a, b, () -> LabeledInformation.compute(in));
    lap("gain, own form (SYRK): total");
    Touched tl = Touched.of(in.pool().rows(), in.labeled());
    lap("own: touched");
    float[] pl = Features.of(in.pool(), m, tl.rows, in.cancelled());
    lap("own: features");
    Rewards.pairMargins(pl, tl.size(), h, m.lastLayer(), tl.localA[0], tl.localB[0]);
    lap("own: margins");
    int nl = in.labeled().size();
    double[] y = new double[nl * h];
    for (int k = 0; k < nl; k++) {
      int oa = tl.localA[0][k] * h;
      int ob = tl.localB[0][k] * h;
      for (int j = 0; j < h; j++) {
        y[k * h + j] = 0.3 * ((double) pl[oa + j] - pl[ob + j]);
      }
    }
    lap("own: Y");
    double[] g = new double[h * h];
    Blas.dsyrkTransposed(h, nl, 1.0, y, h, 0.0, g, h);
    lap("own: dsyrk (arrays)");
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < i; j++) {
        g[i * h + j] = g[j * h + i];
      }
    }
    DenseMatrices.addDiagonal(g, h, 1.0);
    lap("own: symmetrize");
    DenseMatrices.choleskyLower(g, h);
    lap("own: cholesky ojAlgo");
    dev.activerm.server.core.linalg.Lapack.choleskyLower(g, h);
    lap("own: cholesky LAPACK");
  }

}
