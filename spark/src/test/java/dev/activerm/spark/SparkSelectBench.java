package dev.activerm.spark;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.FitOptions;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Strategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Local-mode benchmark (not a test): a synthetic pool of R x D generated on the fly
 * (embedding[j] = xxhash64(id, j) mapped to [-1, 1], no Parquet write), the packaged server as
 * a process holding only the labeled part (L responses, L/2 labels, one fit), then one
 * CROSS_PROMPT selection on Spark. Prints wall time per stage and the peak RSS (VmHWM) of this
 * JVM (the driver, which in local mode also runs the tasks) and of the server, and every Spark
 * stage's wall time and shuffle bytes ({@link StageTimes}). With "scan" as a sixth argument it
 * first times one full pass that generates every embedding: what reading the pool's embedding
 * column costs at least (the job itself only materialises the touched rows' embeddings).
 * Temporary files go under /tmp/spark-scale-bench-* and are deleted at the end.
 *
 * <p>java [spark module flags] -cp ... dev.activerm.spark.SparkSelectBench R D cap strategy buckets [scan]
 */
public final class SparkSelectBench {
  private SparkSelectBench() {}

  public static void main(String[] args) throws Exception {
    long r = Long.parseLong(args[0]);
    int d = Integer.parseInt(args[1]);
    long cap = Long.parseLong(args[2]);
    Strategy strategy = Strategy.valueOf(args[3]);
    int buckets = Integer.parseInt(args[4]);
    int labeledRows = 2000;
    boolean scan = args.length > 5 && args[5].equals("scan");
    // 1000000.0 is a DECIMAL literal in Spark SQL: every element then goes through BigDecimal
    // (toString / parseFloat), ~1.4 ms of task time per 256-wide row here (1 364 s for 10^6),
    // most of the old 10^6 run. 1E6 is a DOUBLE: the same values up to float rounding, at a
    // fraction of the cost. -Dbench.decimal=true keeps the old generator (to compare with runs
    // made with it).
    String divisor = Boolean.getBoolean("bench.decimal") ? "1000000.0" : "1E6";
    Path tmp = Files.createTempDirectory(Path.of("/tmp"), "spark-scale-bench-");
    SparkSession spark = SparkSession.builder().master("local[2]").appName("activerm-spark-bench")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", String.valueOf(buckets))
        .config("spark.local.dir", tmp.resolve("spark").toString()).getOrCreate();
    StageTimes stages = new StageTimes();
    spark.sparkContext().addSparkListener(stages);
    try (ServerProcess server = ServerProcess.start(tmp.resolve("data"));
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      int slices = (int) Math.max(2, r / 100_000);
      Dataset<Row> pool = spark.range(0, r, 1, slices).selectExpr("concat('r', id) AS response_id",
          "concat('q', id % 100000) AS prompt_id",
          "transform(sequence(0, " + (d - 1) + "), j -> CAST((xxhash64(id, j) % 1000001) / " + divisor + " AS FLOAT))"
              + " AS embedding");
      if (scan) {
        long s0 = System.nanoTime();
        double sum = pool.selectExpr("sum(aggregate(embedding, 0D, (a, x) -> a + x))").first().getDouble(0);
        System.out.printf("SCAN R=%d D=%d scan_s=%.1f (sum %.3f)%n", r, d, (System.nanoTime() - s0) / 1e9, sum);
      }
      long t0 = System.nanoTime();
      List<Row> head = pool.filter("CAST(substring(response_id, 2) AS BIGINT) < " + labeledRows).collectAsList();
      List<String> ids = new ArrayList<>();
      List<String> prompts = new ArrayList<>();
      float[][] x = new float[head.size()][d];
      for (int i = 0; i < head.size(); i++) {
        ids.add(head.get(i).getString(0));
        prompts.add(head.get(i).getString(1));
        List<Float> e = head.get(i).getList(2);
        for (int j = 0; j < d; j++) {
          x[i][j] = e.get(j);
        }
      }
      client.createProject("bench", d, Head.LINEAR, 1.0);
      client.addResponses("bench", ids, prompts, x);
      Random rnd = new Random(3);
      double[] w = new double[d];
      for (int j = 0; j < d; j++) {
        w[j] = rnd.nextGaussian();
      }
      List<ComparisonInput> labels = new ArrayList<>();
      for (int c = 0; c < labeledRows / 2; c++) {
        int a = rnd.nextInt(x.length);
        int b = (a + 1 + rnd.nextInt(x.length - 1)) % x.length;
        double m = 0;
        for (int j = 0; j < d; j++) {
          m += w[j] * (x[a][j] - x[b][j]);
        }
        labels.add(ComparisonInput.of(ids.get(a), ids.get(b), rnd.nextDouble() < 1 / (1 + Math.exp(-m))
            ? Outcome.A : Outcome.B));
      }
      client.addComparisons("bench", labels);
      client.fit("bench", FitOptions.defaults());
      long t1 = System.nanoTime();
      SparkSelection.Result res = SparkSelection.run(spark, pool, client, "bench",
          SparkSelectOptions.crossPrompt(strategy, 64, cap, 1).withCandidatePartitions(buckets));
      long t2 = System.nanoTime();
      System.out.printf("RESULT R=%d D=%d cap=%d strategy=%s buckets=%d candidates=%d picked=%d setup_s=%.1f "
              + "select_s=%.1f driver_hwm_mib=%d server_hwm_mib=%d%n", r, d, cap, strategy, buckets,
          res.numCandidates(), res.pairs().size(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, hwm("self"),
          hwm(String.valueOf(server.pid())));
    } finally {
      spark.stop();
      stages.print();
      deleteTree(tmp);
    }
  }

  private static void deleteTree(Path root) throws java.io.IOException {
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** Peak resident set (VmHWM) of a process, MiB. */
  static long hwm(String pid) throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    return -1;
  }
}
