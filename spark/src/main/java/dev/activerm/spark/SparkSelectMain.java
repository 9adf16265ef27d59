package dev.activerm.spark;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.SelectOptions.CandidateSource;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Strategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * spark-submit entry point: --target host:port --project ID --pool PATH
 * [--candidates EXPLICIT|WITHIN_PROMPT|CROSS_PROMPT] [--pairs FILE] [--max-candidates N] [--seed S]
 * [--strategy GREEDY_DOPT] [--batch 64] [--partitions N] [--register] (docs/spark.md).
 * --pairs is a local text file of "a_id,b_id" lines (the explicit candidates; EXPLICIT only,
 * the default when --pairs is given, else CROSS_PROMPT).
 */
public final class SparkSelectMain {
  private SparkSelectMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> flags = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + args[i] + "'; flags look like --name value");
      }
      if (args[i].equals("--register")) {
        flags.put("register", "true");
      } else if (i + 1 < args.length) {
        flags.put(args[i].substring(2), args[++i]);
      } else {
        throw new IllegalArgumentException(args[i] + " needs a value");
      }
    }
    for (String required : List.of("target", "project", "pool")) {
      if (!flags.containsKey(required)) {
        throw new IllegalArgumentException("--" + required + " is required; see docs/spark.md");
      }
    }
    Strategy strategy = Strategy.valueOf(flags.getOrDefault("strategy", "GREEDY_DOPT"));
    int batch = Integer.parseInt(flags.getOrDefault("batch", "64"));
    CandidateSource source = CandidateSource.valueOf(flags.getOrDefault("candidates",
        flags.containsKey("pairs") ? "EXPLICIT" : "CROSS_PROMPT"));
    long cap = Long.parseLong(flags.getOrDefault("max-candidates", "1000000"));
    SparkSelectOptions o = switch (source) {
      case EXPLICIT -> SparkSelectOptions.explicit(strategy, batch, readPairs(flags.get("pairs")));
      case WITHIN_PROMPT -> SparkSelectOptions.withinPrompt(strategy, batch, cap);
      case CROSS_PROMPT -> SparkSelectOptions.crossPrompt(strategy, batch, cap, 0);
    };
    o = o.withSeed(Long.parseLong(flags.getOrDefault("seed", "0")))
        .withCandidatePartitions(Integer.parseInt(flags.getOrDefault("partitions", "8")))
        .withRegister(flags.containsKey("register"));
    SparkSession spark = SparkSession.builder().appName("activerm-select").getOrCreate();
    try (ActiveRmClient client = ActiveRmClient.connect(flags.get("target"))) {
      SparkSelection.Result r = SparkSelection.run(spark, flags.get("pool"), client, flags.get("project"), o);
      for (int i = 0; i < r.pairs().size(); i++) {
        System.out.println(r.pairs().get(i).aId() + "," + r.pairs().get(i).bId() + "," + r.scores()[i]);
      }
      if (r.registered() != null) {
        System.err.println("registered as " + r.registered().selectionId() + " (model v" + r.modelVersion() + ")");
      }
    } finally {
      spark.stop();
    }
  }

  private static List<Pair> readPairs(String file) throws java.io.IOException {
    if (file == null) {
      throw new IllegalArgumentException("--candidates EXPLICIT needs --pairs FILE (a_id,b_id lines)");
    }
    List<Pair> pairs = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(file))) {
      String[] ab = line.strip().split(",");
      if (ab.length == 2) {
        pairs.add(new Pair(ab[0].strip(), ab[1].strip()));
      }
    }
    return pairs;
  }
}
