package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.SplittableRandom;

/**
 * BATCHBALD timing (not a test): LINEAR head with h = D features, P CROSS_PROMPT candidates,
 * default params, best of two selections per batch size. Also checks the reported joint MI
 * against a direct Monte-Carlo estimate on the same posterior samples. Args: R P D threads B...
 * Run like benchmarks/select/run.sh runs SelectBench, e.g. {@code BaldBench 2000 14000 256 1 64 128}.
 */
public final class BaldBench {
  public static void main(String[] args) {
    int r = Integer.parseInt(args[0]);
    int p = Integer.parseInt(args[1]);
    int d = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    BenchData data = BenchData.linear(r, p, d, threads);
    PairList cand = data.cand();
    PairList lab = data.lab();
    double[] labW = data.labW();
    RowSource pool = data.pool();
    LinearRewardModel model = data.model();
    System.out.printf("R=%d P=%d h=%d threads=%d, default params%n", r, cand.size(), d, threads);
    for (int a = 4; a < args.length; a++) {
      int b = Integer.parseInt(args[a]);
      StrategyResult res = null;
      double best = Double.MAX_VALUE;
      for (int rep = 0; rep < 2; rep++) {
        long t = System.nanoTime();
        res = SelectionStrategy.run(new StrategyInput(pool, model, cand, lab, labW, 1.0, Strategy.BATCHBALD,
            StrategyParams.DEFAULTS.resolve(), 0, b, CancelledException.NEVER, null));
        best = Math.min(best, (System.nanoTime() - t) / 1e6);
      }
      double total = 0;
      for (double s : res.score()) {
        total += s;
      }
      StrategyInput in = new StrategyInput(pool, model, cand, lab, labW, 1.0, Strategy.BATCHBALD,
          StrategyParams.DEFAULTS.resolve(), 0, b, CancelledException.NEVER, null);
      BatchBaldStrategy.PosteriorLabels chosen = BatchBaldStrategy.posteriorLabels(Whitened.of(in), res.index(),
          StrategyParams.DEFAULTS.resolve().posteriorSamples(), new SplittableRandom(in.strategySeed()));
      double[] mc = directMi(chosen, 20_000, 5);
      System.out.printf("BATCHBALD B=%d %8.0f ms (best of 2); joint MI reported %.3f, direct MC %.3f +- %.3f nats%n",
          b, best, total, mc[0], mc[1]);
    }
  }

  /**
   * I(y; w) over the S posterior samples (the same ones BATCHBALD used) with its standard
   * error, from draws s0 uniform, y ~ p(y | w_s0): E[log S - log sum_s P(y | w_s) / P(y | w_s0)].
   */
  static double[] directMi(BatchBaldStrategy.PosteriorLabels labels, int draws, long seed) {
    int n = labels.n();
    int samples = labels.samples();
    double[] p = labels.prob();
    SplittableRandom r = new SplittableRandom(seed);
    double sum = 0;
    double sq = 0;
    double[] logLik = new double[samples];
    for (int d = 0; d < draws; d++) {
      int s0 = r.nextInt(samples);
      java.util.Arrays.fill(logLik, 0);
      for (int i = 0; i < n; i++) {
        boolean y = r.nextDouble() < p[i * samples + s0];
        for (int s = 0; s < samples; s++) {
          logLik[s] += Math.log(y ? p[i * samples + s] : 1 - p[i * samples + s]);
        }
      }
      double ratio = 0;
      for (int s = 0; s < samples; s++) {
        ratio += Math.exp(logLik[s] - logLik[s0]);
      }
      double t = Math.log(samples) - Math.log(ratio);
      sum += t;
      sq += t * t;
    }
    double mean = sum / draws;
    return new double[] {mean, Math.sqrt((sq / draws - mean * mean) / draws)};
  }
}
