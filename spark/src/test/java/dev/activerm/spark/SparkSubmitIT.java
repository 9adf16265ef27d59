package dev.activerm.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.FitOptions;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The spark-submit path of docs/spark.md "## Launch": org.apache.spark.deploy.SparkSubmit (the
 * class the spark-submit script runs) in a child JVM whose class path is Spark's jars only, so
 * every activerm class must come from target/activerm-spark-app.jar. Runs in failsafe, after
 * package has built that jar.
 */
@Timeout(300)
class SparkSubmitIT {
  static final int N = 40;
  static final int D = 4;
  static final int BATCH = 4;

  static Path dir;
  static ServerProcess server;
  static ActiveRmClient client;
  static String poolPath;

  @BeforeAll
  static void start() throws Exception {
    // /tmp is shared: the branch's prefix, removed in stop().
    dir = Files.createTempDirectory("spark-submit-it-");
    server = ServerProcess.start(dir.resolve("data"));
    client = ActiveRmClient.connect(server.target());

    Random rnd = new Random(5);
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    float[][] x = new float[N][D];
    for (int i = 0; i < N; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 5));
      List<Float> emb = new ArrayList<>();
      for (int j = 0; j < D; j++) {
        x[i][j] = (float) rnd.nextGaussian();
        emb.add(x[i][j]);
      }
      rows.add(RowFactory.create("r" + i, "q" + (i % 5), emb));
    }
    client.createProject("p", D, Head.LINEAR, 1.0);
    client.addResponses("p", ids, prompts, x);
    List<ComparisonInput> labels = new ArrayList<>();
    for (int c = 0; c < 15; c++) {
      labels.add(ComparisonInput.of("r" + c, "r" + (c + 20), c % 3 == 0 ? Outcome.B : Outcome.A));
    }
    client.addComparisons("p", labels);
    client.fit("p", FitOptions.defaults());

    // The pool is written in this JVM; the session is stopped before the child starts its own.
    SparkSession spark = SparkSession.builder().master("local[1]").appName("spark-submit-it-pool")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").getOrCreate();
    try {
      poolPath = dir.resolve("pool.parquet").toString();
      StructType schema = new StructType().add("response_id", DataTypes.StringType)
          .add("prompt_id", DataTypes.StringType).add("embedding", DataTypes.createArrayType(DataTypes.FloatType));
      spark.createDataFrame(rows, schema).repartition(2).write().parquet(poolPath);
    } finally {
      spark.stop();
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    if (dir != null) {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void sparkSubmitOnTheApplicationJarRegistersAPendingSparkSelection() throws Exception {
    Path appJar = Path.of(System.getProperty("activerm.spark.app.jar", "target/activerm-spark-app.jar"));
    assertThat(appJar).as("build it with mvn -pl proto,server,client-java,spark -am package").exists();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.addAll(Arrays.asList(System.getProperty("activerm.spark.module.flags", "").trim().split("\\s+")));
    command.addAll(List.of("-cp", sparkClassPath(), "org.apache.spark.deploy.SparkSubmit",
        "--master", "local[2]", "--class", "dev.activerm.spark.SparkSelectMain",
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
        "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
        appJar.toString(),
        "--target", server.target(), "--project", "p", "--pool", poolPath,
        "--candidates", "CROSS_PROMPT", "--max-candidates", "200", "--seed", "7",
        "--strategy", "GREEDY_DOPT", "--batch", String.valueOf(BATCH), "--partitions", "2", "--register"));
    Path out = dir.resolve("spark-submit.out");
    Path err = dir.resolve("spark-submit.err");
    ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    boolean ended = p.waitFor(180, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    String stderr = tail(err);
    assertThat(ended).as("spark-submit ran over 180 s; stderr:%n%s", stderr).isTrue();
    assertThat(p.exitValue()).as("spark-submit exit code; stderr:%n%s", stderr).isZero();

    // stdout: one "a_id,b_id,score" line per chosen pair (SparkSelectMain).
    Set<String> printed = new HashSet<>();
    for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
      String[] f = line.split(",");
      if (f.length == 3 && f[0].startsWith("r") && f[1].startsWith("r")) {
        printed.add(SparkSelection.canon(f[0], f[1]));
      }
    }
    assertThat(printed).as("stdout of spark-submit").hasSize(BATCH);

    List<Selection> selections = client.listSelections("p");
    assertThat(selections).hasSize(1);
    Selection listed = selections.get(0);
    assertThat(listed.computedOn()).isEqualTo("spark");
    assertThat(stderr).contains("registered as " + listed.selectionId());
    Selection sel = client.getSelection("p", listed.selectionId());
    assertThat(sel.computedOn()).isEqualTo("spark");
    assertThat(sel.pairs()).hasSize(BATCH).extracting(ScoredPair::state).containsOnly(PairState.PENDING);
    Set<String> registered = new HashSet<>();
    sel.pairs().forEach(sp -> registered.add(SparkSelection.canon(sp.aId(), sp.bId())));
    assertThat(registered).isEqualTo(printed);
  }

  /**
   * Spark's jars only (target/spark-classpath, written by the dependency plugin: provided.txt,
   * the provided scope, and shared/, the jars Spark shares with activerm at Spark's versions);
   * java.class.path is not used because it also holds activerm's modules and their dependencies.
   */
  static String sparkClassPath() throws IOException {
    Path cpDir = Path.of(System.getProperty("activerm.spark.classpath", "target/spark-classpath"));
    List<String> parts = new ArrayList<>();
    String provided = Files.readString(cpDir.resolve("provided.txt")).trim();
    assertThat(provided).as("%s/provided.txt is empty", cpDir).isNotEmpty();
    parts.addAll(Arrays.asList(provided.split(java.io.File.pathSeparator)));
    try (Stream<Path> shared = Files.list(cpDir.resolve("shared"))) {
      shared.filter(f -> f.toString().endsWith(".jar")).sorted().forEach(f -> parts.add(f.toString()));
    }
    assertThat(parts).as("Spark's class path must not carry activerm")
        .noneMatch(e -> e.contains("/dev/activerm/") || e.endsWith("classes"));
    return String.join(java.io.File.pathSeparator, parts);
  }

  private static String tail(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }
}
