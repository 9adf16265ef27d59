package dev.activerm.server.core.strategy;

import com.sun.management.OperatingSystemMXBean;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The work-size policy's benchmark (not a test): one selection as the server computes it
 * (lambda I + F(labeled) when the strategy uses it, the strategy, the batch's log det gain) on
 * BenchData's LINEAR data, in the parallel mode and in Parallel.serially, interleaved rep by rep
 * in one JVM so both see the same load. Prints, per strategy and mode, the median and min wall
 * ms, the median process CPU ms, and whether both modes chose the same pairs with the same
 * score bits. Args: R P D threads [strategies [labeled [reps]]].
 */
public final class SmallSelectBench {
  public static void main(String[] args) {
    int r = Integer.parseInt(args[0]);
    int p = Integer.parseInt(args[1]);
    int d = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    String[] strategies = (args.length > 4 ? args[4] : "DOPT,PAST_AWARE_DOPT,GREEDY_DOPT").split(",");
    int labeled = args.length > 5 ? Integer.parseInt(args[5]) : 1000;
    int reps = args.length > 6 ? Integer.parseInt(args[6]) : 7;
    BenchData data = BenchData.linear(r, p, d, threads, labeled);
    RowSource pool = data.pool();
    LinearRewardModel model = data.model();
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    System.out.printf("small-select: R=%d P=%d D=%d threads=%d labeled=%d reps=%d load=%.1f%n", r, p, d, threads,
        labeled, reps, os.getSystemLoadAverage());
    for (String name : strategies) {
      Strategy s = Strategy.valueOf(name);
      StrategyInput in = new StrategyInput(pool, model, data.cand(), data.lab(), data.labW(), 1.0, s,
          StrategyParams.DEFAULTS.resolve(), 0, 64, CancelledException.NEVER, null);
      List<double[]> par = new ArrayList<>();
      List<double[]> ser = new ArrayList<>();
      StrategyResult rp = null;
      StrategyResult rs = null;
      StrategyResult rp0 = null;
      StrategyResult rs0 = null;
      for (int rep = 0; rep < reps; rep++) {
        // Alternate which mode goes first, so neither always runs right after the other's garbage.
        for (int m = 0; m < 2; m++) {
          boolean serial = (rep + m) % 2 == 1;
          long cpu0 = os.getProcessCpuTime();
          long t0 = System.nanoTime();
          StrategyResult res = serial ? Parallel.serially(() -> serverLike(in)) : serverLike(in);
          double ms = (System.nanoTime() - t0) / 1e6;
          double cpu = (os.getProcessCpuTime() - cpu0) / 1e6;
          (serial ? ser : par).add(new double[] {ms, cpu});
          if (serial) {
            rs0 = rs0 == null ? res : rs0;
            rs = res;
          } else {
            rp0 = rp0 == null ? res : rp0;
            rp = res;
          }
        }
      }
      boolean same = Arrays.equals(rp.index(), rs.index()) && Arrays.equals(rp.score(), rs.score());
      System.out.printf("  same picks %s, max rel score diff %.2e; parallel run to run identical %s, serial %s%n",
          Arrays.equals(rp.index(), rs.index()), maxRel(rp.score(), rs.score()),
          Arrays.equals(rp0.index(), rp.index()) && Arrays.equals(rp0.score(), rp.score()),
          Arrays.equals(rs0.index(), rs.index()) && Arrays.equals(rs0.score(), rs.score()));
      System.out.printf("%-16s parallel %7.1f ms (min %7.1f, cpu %7.1f)  serial %7.1f ms (min %7.1f, cpu %7.1f)"
          + "  serial/parallel %.2f  policy=%s flops=%.2e  identical=%s  load=%.1f%n", s,
          median(par, 0), min(par, 0), median(par, 1), median(ser, 0), min(ser, 0), median(ser, 1),
          median(ser, 0) / median(par, 0), WorkSize.serial(in) ? "serial" : "parallel", WorkSize.flops(in), same,
          os.getSystemLoadAverage());
    }
  }

  /** What Selections.compute runs for a selection: labeled information, strategy, batch gain. */
  private static StrategyResult serverLike(StrategyInput in0) {
    StrategyInput in = in0.strategy().usesLabeled() && !LowRankLabeled.applies(in0)
        ? in0.withLabeledInfo(LabeledInformation.compute(in0)) : in0;
    StrategyResult res = in.strategy().implementation().select(in, Math.min(in.batchSize(), in.candidates().size()));
    int[] a = new int[res.index().length];
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = in.candidates().a()[res.index()[i]];
      b[i] = in.candidates().b()[res.index()[i]];
    }
    StrategyInput g = in.labeledInfo() == null && BatchInformation.needsLabeledInformation(in.labeled().size(),
        in.model().featureDim(), a.length) ? in.withLabeledInfo(LabeledInformation.compute(in)) : in;
    BatchInformation.logDetGain(g, a, b);
    return res;
  }

  private static double maxRel(double[] a, double[] b) {
    double m = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), Math.abs(b[i])));
    }
    return m;
  }

  private static double median(List<double[]> v, int col) {
    double[] x = v.stream().mapToDouble(e -> e[col]).sorted().toArray();
    return x.length % 2 == 1 ? x[x.length / 2] : 0.5 * (x[x.length / 2 - 1] + x[x.length / 2]);
  }

  private static double min(List<double[]> v, int col) {
    return v.stream().mapToDouble(e -> e[col]).min().orElse(Double.NaN);
  }
}
