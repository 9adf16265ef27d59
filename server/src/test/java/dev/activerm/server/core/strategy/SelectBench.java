package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * SelectBatch benchmark (not a test): DOPT, PAST_AWARE_DOPT, GREEDY_DOPT over CROSS_PROMPT
 * candidates, LINEAR head; writes the data and chosen sets for benchmarks/select/select_bench.py.
 * Args: outDir R P D B smallP threads [strategies [labeled [reps [write]]]]: strategies is a
 * comma list (default DOPT,PAST_AWARE_DOPT,GREEDY_DOPT; GREEDY_DOPT and BALD may carry
 * :lowrank or :whitened to force the form of lambda I + F(labeled)), labeled the number of
 * labeled pairs (default 1000), reps the timed repetitions (default 2), write 0 to skip
 * writing the data files (default 1). smallP 0 skips the small case.
 */
public final class SelectBench {
  public static void main(String[] args) throws IOException {
    Path out = Path.of(args[0]);
    int r = Integer.parseInt(args[1]);
    int p = Integer.parseInt(args[2]);
    int d = Integer.parseInt(args[3]);
    int b = Integer.parseInt(args[4]);
    int smallP = Integer.parseInt(args[5]);
    int threads = Integer.parseInt(args[6]);
    String[] strategies = (args.length > 7 ? args[7] : "DOPT,PAST_AWARE_DOPT,GREEDY_DOPT").split(",");
    int labeled = args.length > 8 ? Integer.parseInt(args[8]) : 1000;
    int reps = args.length > 9 ? Integer.parseInt(args[9]) : 2;
    boolean write = args.length <= 10 || !args[10].equals("0");
    Files.createDirectories(out);
    BenchData data = BenchData.linear(r, p, d, threads, labeled);
    float[] x = data.x();
    double[] w = data.w();
    PairList cand = data.cand();
    double candMs = data.candidateMillis();
    PairList lab = data.lab();
    double[] labW = data.labW();
    if (write) {
      writeFloats(out.resolve("x.f32"), x);
      writeInts(out.resolve("cand.i32"), cand.a(), cand.b());
      writeInts(out.resolve("lab.i32"), lab.a(), lab.b());
      writeDoubles(out.resolve("w.f64"), w);
    }
    RowSource pool = data.pool();
    LinearRewardModel model = data.model();
    System.out.printf("java: R=%d P=%d D=%d B=%d threads=%d; CROSS_PROMPT sampling %.0f ms%n", r, p, d, b, threads, candMs);
    for (String spec : strategies) {
      String[] parts = spec.split(":");
      Strategy s = Strategy.valueOf(parts[0]);
      double best = Double.MAX_VALUE;
      StrategyResult res = null;
      for (int rep = 0; rep < reps; rep++) {
        StrategyInput in = new StrategyInput(pool, model, cand, lab, labW, 1.0, s, StrategyParams.DEFAULTS.resolve(),
            0, b, CancelledException.NEVER, null);
        long t = System.nanoTime();
        res = parts.length == 1 ? SelectionStrategy.run(in) : forced(in, b, parts[1]);
        best = Math.min(best, (System.nanoTime() - t) / 1e6);
      }
      String form = parts.length > 1 ? parts[1]
          : (LowRankLabeled.applies(new StrategyInput(pool, model, cand, lab, labW, 1.0, s,
              StrategyParams.DEFAULTS.resolve(), 0, b, CancelledException.NEVER, null)) ? "lowrank" : "dense");
      System.out.printf("java %-16s %8.0f ms (best of %d) form=%s%n", s, best, reps, form);
      writeInts(out.resolve("java_" + spec.replace(':', '_') + ".i32"), res.index(), new int[0]);
    }
    if (smallP == 0) {
      return;
    }
    // Small case for the paper's P x h x h formulation: the first smallP candidates.
    PairList small = new PairList(java.util.Arrays.copyOf(cand.a(), smallP), java.util.Arrays.copyOf(cand.b(), smallP));
    double best = Double.MAX_VALUE;
    StrategyResult res = null;
    for (int rep = 0; rep < 3; rep++) {
      long t = System.nanoTime();
      res = SelectionStrategy.run(new StrategyInput(pool, model, small, lab, labW, 1.0, Strategy.DOPT,
          StrategyParams.DEFAULTS.resolve(), 0, b, CancelledException.NEVER, null));
      best = Math.min(best, (System.nanoTime() - t) / 1e6);
    }
    System.out.printf("java DOPT at P=%d   %8.1f ms (best of 3)%n", smallP, best);
    writeInts(out.resolve("java_DOPT_small.i32"), res.index(), new int[0]);
  }

  private static StrategyResult forced(StrategyInput in, int b, String form) {
    boolean lowRank = form.equals("lowrank");
    if (!lowRank && !form.equals("whitened")) {
      throw new IllegalArgumentException("form must be lowrank or whitened: " + form);
    }
    return switch (in.strategy()) {
      case GREEDY_DOPT -> GreedyDoptStrategy.select(in, b, lowRank);
      case BALD -> BaldStrategy.select(in, b, lowRank);
      default -> throw new IllegalArgumentException(in.strategy() + " has one form only");
    };
  }

  private static void writeFloats(Path f, float[] v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(v);
    write(f, buf);
  }

  private static void writeDoubles(Path f, double[] v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asDoubleBuffer().put(v);
    write(f, buf);
  }

  private static void writeInts(Path f, int[] a, int[] b) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate((a.length + b.length) * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asIntBuffer().put(a).put(b);
    write(f, buf);
  }

  private static void write(Path f, ByteBuffer buf) throws IOException {
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      buf.rewind();
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    }
  }
}
