package dev.activerm.bench;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Strategy;
import dev.activerm.it.ServerProcess;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ingestion, restart and memory benchmark (not a test): N x D float32 responses through the
 * Java client into the packaged server, against writing the same bytes to a local file with
 * fsync; then the time from starting the process until it serves the project; then the
 * server's heap and RSS at idle and while SelectBatch runs. With -Dbench.baseJar=... a
 * reference jar (e.g. main's, built in a separate clone) runs beside this build in one run.
 *
 * <p>The upload is timed in -Dbench.rounds rounds (default 3). Every round writes the bytes to
 * a plain file (write + fsync) right before each upload part, and the jars' order alternates
 * from round to round (reference first, then this build first, ...), so the baseline and the
 * uploads see the same machine in the same minutes; each is reported as min / median / max,
 * and the share is the median file write over the median upload. Each round uploads into a
 * new project; the previous round's is deleted first (untimed). The restart and SelectBatch
 * parts then run on the last round's project, one jar after the other.
 *
 * <p>Run: {@code mvn -B -q -pl integration-tests -am -Pbench-ingest -DskipTests verify}
 * (sizes: -Dbench.rows=200000 -Dbench.dim=1024 -Dbench.callRows=20000; -Dbench.rounds=3;
 * -Dbench.baseJar=PATH; the server's heap flag -Dbench.serverXmx=-Xmx6g; -Dbench.workDir=DIR
 * for the data dirs; -Dbench.select=false to stop after the uploads; -Dbench.jfrDir=DIR to
 * record the servers with JFR during the uploads, dumped to DIR/&lt;jar&gt;-ingest.jfr;
 * -Dbench.serverFlags="..." for more JVM flags of both servers, split at spaces;
 * -Dbench.args="..." and -Dbench.baseArgs="..." for server flags of this build's and of the
 * reference's server, split at spaces, e.g. -Dbench.args="--flow-control-window-mib 32").
 */
public final class IngestBenchmark {
  /** Cross-prompt candidates of the timed SelectBatch calls (main's 6 GiB heap, 4 GB of it pool, fits 50 000). */
  static final int CANDIDATES = 50_000;

  record Result(String name, List<Double> uploadSeconds, double restartSeconds, long idleHeapMiB,
      long idleRssMiB, double firstIdSeconds, long idsHeapMiB, double select1Seconds, double select2Seconds, long selectPeakHeapMiB, long selectPeakRssMiB,
      List<String> serverLines) {}

  /** One jar under test: its launch, data dir, and while the upload rounds run its server and client. */
  static final class Side {
    final String name;
    final String label;
    final ServerProcess.Launch launch;
    final Path dataDir;
    final String[] args;
    final List<Double> uploads = new ArrayList<>();
    final List<String> lines = new ArrayList<>();
    ServerProcess server;
    ActiveRmClient client;
    String project;

    Side(String name, String label, ServerProcess.Launch launch, Path dataDir, String args) {
      this.name = name + (args.isBlank() ? "" : " " + args.trim());
      this.label = label;
      this.launch = launch;
      this.dataDir = dataDir;
      this.args = args.isBlank() ? new String[0] : args.trim().split("\\s+");
    }
  }

  public static void main(String[] args) throws Exception {
    int rows = Integer.getInteger("bench.rows", 200_000);
    int dim = Integer.getInteger("bench.dim", 1024);
    int callRows = Integer.getInteger("bench.callRows", 20_000);
    int rounds = Integer.getInteger("bench.rounds", 3);
    boolean select = Boolean.parseBoolean(System.getProperty("bench.select", "true"));
    String jfrDir = System.getProperty("bench.jfrDir", "");
    String xmx = System.getProperty("bench.serverXmx", "-Xmx6g");
    String baseJar = System.getProperty("bench.baseJar", "");
    double mb = rows * (double) dim * 4 / 1e6;
    System.out.printf("ingest benchmark: %d x %d float32 = %.0f MB, %d rows per AddResponses call, %d rounds, %d cores,"
        + " server %s%n", rows, dim, mb, callRows, rounds, Runtime.getRuntime().availableProcessors(), xmx);
    List<String> ids = new ArrayList<>(rows);
    List<String> prompts = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      ids.add("resp-" + i);
      prompts.add("prompt-" + (i / 8));
    }
    Path work = Files.createTempDirectory(Path.of(System.getProperty("bench.workDir", System.getProperty("java.io.tmpdir"))),
        "activerm-bench-");
    List<Side> sides = new ArrayList<>();
    List<String> flags = new ArrayList<>(List.of(xmx));
    String extra = System.getProperty("bench.serverFlags", "");
    if (!extra.isBlank()) {
      flags.addAll(List.of(extra.trim().split("\\s+")));
    }
    if (!jfrDir.isBlank()) {
      flags.add("-XX:StartFlightRecording=name=ingest,settings=profile");
    }
    if (!baseJar.isBlank()) {
      sides.add(new Side("reference " + baseJar, "reference", new ServerProcess.Launch(Path.of(baseJar), flags),
          work.resolve("data-reference"), System.getProperty("bench.baseArgs", "")));
    }
    sides.add(new Side("this build " + ServerProcess.jar(), "this-build", new ServerProcess.Launch(ServerProcess.jar(), flags),
        work.resolve("data-this-build"), System.getProperty("bench.args", "")));
    List<Double> fileSeconds = new ArrayList<>();
    List<Result> results = new ArrayList<>();
    try {
      for (Side side : sides) {
        side.server = ServerProcess.start(side.launch, side.dataDir, side.args);
        side.client = ActiveRmClient.connect(side.server.target());
        // Warm both JVMs' JIT on a throwaway project first, as the Python benchmark's best/median
        // of three runs does; the timed projects start from the same server state otherwise.
        side.client.createProject("warmup", dim, Head.LINEAR, 1.0);
        for (int from = 0; from < Math.min(rows, 2 * callRows); from += callRows) {
          int to = Math.min(rows, from + callRows);
          side.client.addResponses("warmup", ids.subList(from, to), prompts.subList(from, to), part(from, to, dim), dim);
        }
        side.client.deleteProject("warmup");
      }
      for (int round = 0; round < rounds; round++) {
        List<Side> order = new ArrayList<>(sides);
        if (round % 2 == 1) {
          java.util.Collections.reverse(order);
        }
        for (Side side : order) {
          Path file = work.resolve("baseline.f32");
          double f = writeFile(file, rows, dim, callRows);
          Files.delete(file);
          fileSeconds.add(f);
          if (side.project != null) {
            side.client.deleteProject(side.project);
          }
          side.project = "bench-" + round;
          side.client.createProject(side.project, dim, Head.LINEAR, 1.0);
          double[] timed = upload(side.client, side.server.pid(), side.project, ids, prompts, dim, callRows);
          double u = timed[0];
          double serverCpu = timed[1];
          double clientCpu = timed[2];
          side.uploads.add(u);
          System.out.printf("  round %d: file write + fsync %.2f s; %s upload %.2f s, CPU server %.2f s, client %.2f s"
              + " (load %s)%n", round, f, side.label, u, serverCpu, clientCpu, load());
          if (round == 0) {
            side.server.log().stream().filter(l -> l.contains("committed in")).skip(2).limit(3).forEach(side.lines::add);
          }
        }
      }
      for (Side side : sides) {
        System.out.printf("  %s server threads by CPU (user + system s) after warm-up and %d rounds: %s%n", side.label,
            rounds, threadCpu(side.server.pid()));
        if (!jfrDir.isBlank()) {
          Path out = Path.of(jfrDir).toAbsolutePath().resolve(side.label + "-ingest.jfr");
          System.out.println("  " + tool("jcmd", Long.toString(side.server.pid()), "JFR.dump", "name=ingest",
              "filename=" + out).trim());
        }
        if (select) {
          // A fitted LINEAR model for SelectBatch after the restart (GREEDY_DOPT needs one).
          java.util.Random pick = new java.util.Random(5);
          List<dev.activerm.client.Types.ComparisonInput> labels = new ArrayList<>();
          for (int i = 0; i < 500; i++) {
            labels.add(dev.activerm.client.Types.ComparisonInput.of(ids.get(pick.nextInt(rows)), ids.get(pick.nextInt(rows)),
                pick.nextBoolean() ? dev.activerm.client.Types.Outcome.A : dev.activerm.client.Types.Outcome.B));
          }
          side.client.addComparisons(side.project, labels);
          side.client.fit(side.project, dev.activerm.client.FitOptions.defaults());
        }
        side.client.close();
        side.server.kill9();
      }
      for (Side side : sides) {
        Result r = select
            ? restartAndSelect(side, rows, ids)
            : new Result(side.name, side.uploads, Double.NaN, -1, -1, Double.NaN, -1, Double.NaN, Double.NaN, -1, -1, side.lines);
        results.add(r);
        System.out.printf("%n== %s%n", side.name);
        r.serverLines().forEach(l -> System.out.println("  server: " + l));
        print(r, mb, fileSeconds);
      }
    } finally {
      for (Side side : sides) {
        if (side.server != null) {
          side.server.close();
        }
      }
      deleteTree(work);
    }
    System.out.printf("%nsummary (load after: %s); file write + fsync over %d runs, alternated with the uploads:"
        + " min / median / max %s%n", load(), fileSeconds.size(), spread(fileSeconds, mb));
    System.out.println("| jar | file write + fsync, min / median / max | AddResponses, acknowledged, min / median / max"
        + " | share (median / median) | restart until served | idle heap / RSS | first call needing ids | heap with ids"
        + " | SelectBatch 1st / 2nd | peak heap / RSS during SelectBatch |");
    for (Result r : results) {
      System.out.printf("| %s | %s | %s | %.0f%% | %.2f s | %d / %d MiB | %.2f s | %d MiB"
          + " | %.2f / %.2f s | %d / %d MiB |%n", r.name(), spread(fileSeconds, mb), spread(r.uploadSeconds(), mb),
          100 * median(fileSeconds) / median(r.uploadSeconds()), r.restartSeconds(), r.idleHeapMiB(),
          r.idleRssMiB(), r.firstIdSeconds(), r.idsHeapMiB(), r.select1Seconds(), r.select2Seconds(),
          r.selectPeakHeapMiB(), r.selectPeakRssMiB());
    }
  }

  static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** "min / median / max s (MB/s at the median)". */
  static String spread(List<Double> seconds, double mb) {
    double min = seconds.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    double max = seconds.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    double median = median(seconds);
    return String.format("%.2f / %.2f / %.2f s (%.0f MB/s at the median)", min, median, max, mb / median);
  }

  private static void print(Result r, double mb, List<Double> fileSeconds) {
    System.out.printf("baseline   write + fsync to a local file: %s%n", spread(fileSeconds, mb));
    System.out.printf("activerm   AddResponses, acknowledged:   %s  (%.0f%% of the file write, medians; each %s)%n",
        spread(r.uploadSeconds(), mb), 100 * median(fileSeconds) / median(r.uploadSeconds()), r.uploadSeconds());
    System.out.printf("restart    process start -> project served: %6.2f s%n", r.restartSeconds());
    System.out.printf("idle       heap after a full GC %d MiB, RSS %d MiB%n", r.idleHeapMiB(), r.idleRssMiB());
    System.out.printf("first id   GetResponses of one id after the restart: %.2f s; heap after a full GC then %d MiB%n",
        r.firstIdSeconds(), r.idsHeapMiB());
    System.out.printf("select     GREEDY_DOPT, 50 000 cross-prompt candidates: first %.2f s, second %.2f s;"
        + " peak heap %d MiB, peak RSS %d MiB%n", r.select1Seconds(), r.select2Seconds(), r.selectPeakHeapMiB(),
        r.selectPeakRssMiB());
  }

  /** Rows [from, to) of the benchmark's data: the same floats for every jar and the file baseline. */
  static float[] part(int from, int to, int dim) {
    float[] out = new float[(to - from) * dim];
    SplittableRandom random = new SplittableRandom(42 + from);
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return out;
  }

  /**
   * All rows into the project in calls of callRows; only the calls are timed (the floats are
   * made outside). Returns the seconds, and the CPU seconds of the server and of this process
   * (the client) during the calls.
   */
  private static double[] upload(ActiveRmClient client, long serverPid, String project, List<String> ids,
      List<String> prompts, int dim, int callRows) {
    int rows = ids.size();
    double[] total = new double[3];
    long self = ProcessHandle.current().pid();
    for (int from = 0; from < rows; from += callRows) {
      int to = Math.min(rows, from + callRows);
      float[] part = part(from, to, dim);
      double server = cpuSeconds(serverPid);
      double mine = cpuSeconds(self);
      long t = System.nanoTime();
      client.addResponses(project, ids.subList(from, to), prompts.subList(from, to), part, dim);
      total[0] += (System.nanoTime() - t) / 1e9;
      total[1] += cpuSeconds(serverPid) - server;
      total[2] += cpuSeconds(self) - mine;
    }
    return total;
  }

  /** Restarts the killed server on its data dir, then times the first id lookup and two SelectBatch calls. */
  private static Result restartAndSelect(Side side, int rows, List<String> ids) throws Exception {
    ServerProcess.Launch launch = new ServerProcess.Launch(side.launch.jar(),
        side.launch.jvmFlags().stream().filter(f -> !f.startsWith("-XX:StartFlightRecording")).toList());
    List<String> lines = side.lines;
    String project = side.project;
    long start = System.nanoTime();
    try (ServerProcess server = ServerProcess.start(launch, side.dataDir, side.args);
        // The default 60 s per call is too short for main's first SelectBatch over 10^6 rows at load 20+.
        ActiveRmClient client = ActiveRmClient.builder().target(server.target())
            .deadline(java.time.Duration.ofMinutes(10)).build()) {
      long n = client.getProject(project).numResponses();
      double restartSeconds = (System.nanoTime() - start) / 1e9;
      if (n != rows) {
        throw new IllegalStateException("restart found " + n + " rows, expected " + rows);
      }
      server.log().stream().filter(l -> l.contains("loaded ")).forEach(lines::add);
      long idleHeap = liveHeapMiB(server.pid());
      long idleRss = rssMiB(server.pid());
      System.out.printf("  %s: restart %.2f s, idle heap %d MiB, RSS %d MiB%n", side.label, restartSeconds, idleHeap,
          idleRss);
      // The first call that needs the id index: a server that reads ids on first use pays
      // that here instead of at start-up, so both are reported.
      long tIds = System.nanoTime();
      int found = client.getResponses(project, List.of(ids.get(rows - 1)), false).ids().size();
      double firstIdSeconds = (System.nanoTime() - tIds) / 1e9;
      if (found != 1) {
        throw new IllegalStateException("GetResponses found " + found + " of 1 id");
      }
      server.log().stream().filter(l -> l.contains("response ids in")).forEach(lines::add);
      long idsHeap = liveHeapMiB(server.pid());
      System.out.printf("  %s: first id-needing call %.2f s, heap with ids %d MiB%n", side.label, firstIdSeconds, idsHeap);
      MemorySampler sampler = new MemorySampler(server.pid());
      Thread.sleep(1000); // jstat's first sample
      long t = System.nanoTime();
      client.selectBatch(project, new SelectOptions(8, Strategy.GREEDY_DOPT, SelectOptions.CandidateSource.CROSS_PROMPT,
          List.of(), List.of(), CANDIDATES, 1, false, false, 0));
      double select1 = (System.nanoTime() - t) / 1e9;
      t = System.nanoTime();
      client.selectBatch(project, new SelectOptions(8, Strategy.GREEDY_DOPT,
          SelectOptions.CandidateSource.CROSS_PROMPT, List.of(), List.of(), CANDIDATES, 2, false, false, 0));
      double select2 = (System.nanoTime() - t) / 1e9;
      long[] peak = sampler.stop();
      return new Result(side.name, side.uploads, restartSeconds, idleHeap, idleRss, firstIdSeconds, idsHeap, select1,
          select2, peak[0], peak[1], lines);
    }
  }

  /** utime + stime of a process so far (/proc/PID/stat, clock ticks of 10 ms), NaN when it cannot be read. */
  static double cpuSeconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** The process's threads with the most CPU so far, grouped by name without digits: "name user+system, ...". */
  static String threadCpu(long pid) {
    java.util.Map<String, double[]> byName = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : tasks.toList()) {
        try {
          String name = Files.readString(task.resolve("comm")).trim().replaceAll("[0-9]+", "#");
          String stat = Files.readString(task.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          double[] t = byName.computeIfAbsent(name, k -> new double[2]);
          t[0] += Long.parseLong(f[11]) / 100.0;
          t[1] += Long.parseLong(f[12]) / 100.0;
        } catch (IOException | RuntimeException e) {
          // The thread ended.
        }
      }
    } catch (IOException e) {
      return "?";
    }
    return byName.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0] + b.getValue()[1],
        a.getValue()[0] + a.getValue()[1])).limit(10)
        .map(e -> String.format("%s %.2f+%.2f", e.getKey(), e.getValue()[0], e.getValue()[1]))
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /** 1-minute load average, as `uptime` shows it. */
  static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  static long rssMiB(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("[^0-9]", "")) >> 10;
        }
      }
    } catch (IOException e) {
      // The process ended.
    }
    return -1;
  }

  /** Heap in use after a full collection (jcmd GC.run, then GC.heap_info): what the server keeps live. */
  static long liveHeapMiB(long pid) throws IOException, InterruptedException {
    tool("jcmd", Long.toString(pid), "GC.run");
    return heapUsedMiB(tool("jcmd", Long.toString(pid), "GC.heap_info"));
  }

  static long heapUsedMiB(String heapInfo) {
    Matcher m = Pattern.compile("total \\d+K, used (\\d+)K").matcher(heapInfo);
    return m.find() ? Long.parseLong(m.group(1)) >> 10 : -1;
  }

  static String tool(String name, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", name).toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    return out;
  }

  /**
   * Samples the server's heap in use (one {@code jstat -gc PID 200} process: survivor, eden and
   * old used) and its RSS (/proc) at every jstat line, and keeps the peaks.
   */
  static final class MemorySampler {
    private final long pid;
    private final Process jstat;
    private final Thread reader;
    private long peakHeap;
    private long peakRss;

    MemorySampler(long pid) throws IOException {
      this.pid = pid;
      this.jstat = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstat").toString(), "-gc",
          Long.toString(pid), "200").redirectErrorStream(true).start();
      this.reader = new Thread(this::loop, "memory-sampler");
      reader.setDaemon(true);
      reader.start();
    }

    private void loop() {
      try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(jstat.getInputStream()))) {
        String header = in.readLine();
        if (header == null) {
          return;
        }
        List<String> columns = List.of(header.trim().split("\\s+"));
        String line;
        while ((line = in.readLine()) != null) {
          String[] v = line.trim().split("\\s+");
          if (v.length != columns.size()) {
            continue;
          }
          double kb = 0;
          for (String c : List.of("S0U", "S1U", "EU", "OU")) {
            kb += Double.parseDouble(v[columns.indexOf(c)]);
          }
          long rss = rssMiB(pid);
          synchronized (this) {
            peakHeap = Math.max(peakHeap, (long) kb >> 10);
            peakRss = Math.max(peakRss, rss);
          }
        }
      } catch (IOException | RuntimeException e) {
        // jstat ended.
      }
    }

    long[] stop() throws InterruptedException {
      jstat.destroy();
      jstat.waitFor(30, TimeUnit.SECONDS);
      reader.join(30_000);
      synchronized (this) {
        return new long[] {peakHeap, peakRss};
      }
    }
  }

  /** Writes the same rows to a plain file (8 MiB direct buffer, one fsync); only the writes and the fsync are timed. */
  private static double writeFile(Path file, int rows, int dim, int callRows) throws IOException {
    long nanos = 0;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
      int perBuffer = buffer.capacity() / 4;
      for (int from = 0; from < rows; from += callRows) {
        float[] data = part(from, Math.min(rows, from + callRows), dim);
        long t = System.nanoTime();
        for (int offset = 0; offset < data.length; offset += perBuffer) {
          int n = Math.min(perBuffer, data.length - offset);
          buffer.clear();
          buffer.asFloatBuffer().put(data, offset, n);
          buffer.limit(n * 4);
          while (buffer.hasRemaining()) {
            ch.write(buffer);
          }
        }
        nanos += System.nanoTime() - t;
      }
      long t = System.nanoTime();
      ch.force(true);
      nanos += System.nanoTime() - t;
    }
    return nanos / 1e9;
  }

  private static void deleteTree(Path root) throws IOException {
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
