package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.selection.CandidateGenerator;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The synthetic data of the in-process selection benchmarks (SelectBench, BaldBench): R
 * standard-normal float32 embeddings, a LINEAR model w ~ N(0, 1/D), P CROSS_PROMPT candidates
 * and 1 000 (or the given number of) labeled pairs of weight 1, all from fixed seeds.
 */
record BenchData(int rows, int dim, float[] x, double[] w, PairList cand, PairList lab, double[] labW,
    double candidateMillis) {

  /** Also caps OpenBLAS and the selection pool at the given threads. */
  static BenchData linear(int r, int p, int d, int threads) {
    return linear(r, p, d, threads, 1000);
  }

  /** With the given number of labeled pairs. */
  static BenchData linear(int r, int p, int d, int threads, int labeled) {
    Blas.setThreads(threads);
    Parallel.setThreads(threads);
    SplittableRandom rnd = new SplittableRandom(1);
    float[] x = new float[r * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    double[] w = new double[d];
    for (int i = 0; i < d; i++) {
      w[i] = rnd.nextGaussian() / Math.sqrt(d);
    }
    long t0 = System.nanoTime();
    PairList cand = CandidateGenerator.crossPrompt(r, p, k -> false, 0, 7, CancelledException.NEVER);
    double candMs = (System.nanoTime() - t0) / 1e6;
    PairList lab = CandidateGenerator.crossPrompt(r, labeled, k -> false, 0, 99, CancelledException.NEVER);
    double[] labW = new double[lab.size()];
    Arrays.fill(labW, 1.0);
    return new BenchData(r, d, x, w, cand, lab, labW, candMs);
  }

  RowSource pool() {
    return Ref.pool(x, rows, dim);
  }

  LinearRewardModel model() {
    return new LinearRewardModel(1, w);
  }
}
