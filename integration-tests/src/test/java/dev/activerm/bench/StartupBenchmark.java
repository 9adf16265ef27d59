package dev.activerm.bench;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Head;
import dev.activerm.it.ServerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Restart benchmark (not a test): the time from starting the server process until its first
 * successful GetProject, and the CPU seconds the process used until then, for one or more
 * launches (a reference jar, this build, this build with a class-data-sharing archive) started
 * in turn on the same data dir, round after round, so every launch sees the same load. The
 * data dir holds one project with a fitted LINEAR model (what a start loads); pool size no
 * longer matters to a start (IngestBenchmark measures the 10^6-row case).
 *
 * <p>Run (after packaging the server and this module's test classes):
 * {@code java -cp <test classpath> dev.activerm.bench.StartupBenchmark} with
 * -Dbench.baseJar=PATH (a reference jar, optional), -Dbench.rounds=8,
 * -Dbench.cdsArchive=PATH (optional: also this jar with -XX:SharedArchiveFile=PATH),
 * -Dbench.serverXmx=-Xmx6g.
 */
public final class StartupBenchmark {
  record Launch(String name, ServerProcess.Launch launch) {}

  public static void main(String[] args) throws Exception {
    int rounds = Integer.getInteger("bench.rounds", 8);
    String xmx = System.getProperty("bench.serverXmx", "-Xmx6g");
    String baseJar = System.getProperty("bench.baseJar", "");
    String cds = System.getProperty("bench.cdsArchive", "");
    List<Launch> launches = new ArrayList<>();
    if (!baseJar.isBlank()) {
      launches.add(new Launch("reference " + baseJar, new ServerProcess.Launch(Path.of(baseJar), List.of(xmx))));
    }
    launches.add(new Launch("this build " + ServerProcess.jar(), new ServerProcess.Launch(ServerProcess.jar(), List.of(xmx))));
    if (!cds.isBlank()) {
      launches.add(new Launch("this build, -XX:SharedArchiveFile=" + cds,
          new ServerProcess.Launch(ServerProcess.jar(), List.of(xmx, "-XX:SharedArchiveFile=" + cds))));
    }
    Path work = Files.createTempDirectory(Path.of(System.getProperty("bench.workDir", System.getProperty("java.io.tmpdir"))),
        "activerm-startup-");
    Path dataDir = work.resolve("data");
    prepare(dataDir);
    double[][] served = new double[launches.size()][rounds];
    double[][] cpu = new double[launches.size()][rounds];
    double[][] listening = new double[launches.size()][rounds];
    System.out.printf("startup benchmark: %d rounds, %d launches, %d cores, load %s%n", rounds, launches.size(),
        Runtime.getRuntime().availableProcessors(), IngestBenchmark.load());
    for (int r = 0; r < rounds; r++) {
      // Alternate the order so neither launch always follows the other.
      for (int k = 0; k < launches.size(); k++) {
        int j = r % 2 == 0 ? k : launches.size() - 1 - k;
        double[] m = once(launches.get(j).launch(), dataDir);
        listening[j][r] = m[0];
        served[j][r] = m[1];
        cpu[j][r] = m[2];
        System.out.printf("  round %d %-60s listening %.2f s, served %.2f s, CPU %.2f s (load %s)%n", r,
            launches.get(j).name(), m[0], m[1], m[2], IngestBenchmark.load());
      }
    }
    System.out.printf("%nsummary (load after: %s): median [min..max] over %d rounds%n", IngestBenchmark.load(), rounds);
    System.out.println("| launch | until listening | until GetProject answered | CPU seconds until answered |");
    System.out.println("| --- | --- | --- | --- |");
    for (int j = 0; j < launches.size(); j++) {
      System.out.printf("| %s | %s | %s | %s |%n", launches.get(j).name(), stats(listening[j]), stats(served[j]), stats(cpu[j]));
    }
    if (launches.size() > 1) {
      for (int j = 1; j < launches.size(); j++) {
        double[] ratio = new double[rounds];
        double[] cpuRatio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          ratio[r] = served[j][r] / served[0][r];
          cpuRatio[r] = cpu[j][r] / cpu[0][r];
        }
        System.out.printf("%s / %s, same round: served %s, CPU %s%n", launches.get(j).name(), launches.get(0).name(),
            stats(ratio), stats(cpuRatio));
      }
    }
    try (var walk = Files.walk(work)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** One project, 2 000 x 64 rows, 200 comparisons and a LINEAR fit, written by this build. */
  private static void prepare(Path dataDir) throws Exception {
    int rows = 2_000;
    int dim = 64;
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ids.add("resp-" + i);
      prompts.add("prompt-" + i / 8);
    }
    try (ServerProcess server = ServerProcess.start(ServerProcess.Launch.defaults(), dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("bench", dim, Head.LINEAR, 1.0);
      client.addResponses("bench", ids, prompts, IngestBenchmark.part(0, rows, dim), dim);
      java.util.Random pick = new java.util.Random(5);
      List<dev.activerm.client.Types.ComparisonInput> labels = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        int a = pick.nextInt(rows);
        int b = (a + 1 + pick.nextInt(rows - 1)) % rows; // never a itself
        labels.add(dev.activerm.client.Types.ComparisonInput.of(ids.get(a), ids.get(b),
            pick.nextBoolean() ? dev.activerm.client.Types.Outcome.A : dev.activerm.client.Types.Outcome.B));
      }
      client.addComparisons("bench", labels);
      client.fit("bench", dev.activerm.client.FitOptions.defaults());
    }
  }

  /** Seconds until the log says listening, until GetProject answered, and CPU seconds of the process until then. */
  private static double[] once(ServerProcess.Launch launch, Path dataDir) throws Exception {
    long start = System.nanoTime();
    try (ServerProcess server = ServerProcess.start(launch, dataDir)) {
      double listening = (System.nanoTime() - start) / 1e9;
      try (ActiveRmClient client = ActiveRmClient.connect(server.target())) {
        long n = client.getProject("bench").numResponses();
        double served = (System.nanoTime() - start) / 1e9;
        double cpu = cpuSeconds(server.pid());
        if (n != 2_000) {
          throw new IllegalStateException("GetProject found " + n + " responses, expected 2000");
        }
        return new double[] {listening, served, cpu};
      }
    }
  }

  /** utime + stime of a process from /proc/PID/stat, in seconds (USER_HZ = 100 on Linux). */
  static double cpuSeconds(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  private static String stats(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return String.format("%.2f [%.2f..%.2f]", median, s[0], s[s.length - 1]);
  }
}
