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
 * server's heap and RSS at idle and while SelectBatch runs. With -Dbench.baseJar=... the same
 * load runs first against that jar (e.g. main's, built in a separate clone), then against this
 * build, in one run.
 *
 * <p>Run: {@code mvn -B -q -pl integration-tests -am -Pbench-ingest -DskipTests verify}
 * (sizes: -Dbench.rows=200000 -Dbench.dim=1024 -Dbench.callRows=20000; -Dbench.baseJar=PATH;
 * the server's heap flag -Dbench.serverXmx=-Xmx6g; -Dbench.workDir=DIR for the data dirs).
 */
public final class IngestBenchmark {
  /** Cross-prompt candidates of the timed SelectBatch calls (main's 6 GiB heap, 4 GB of it pool, fits 50 000). */
  static final int CANDIDATES = 50_000;

  record Result(String name, double fileSeconds, double ingestSeconds, double restartSeconds, long idleHeapMiB,
      long idleRssMiB, double firstIdSeconds, long idsHeapMiB, double select1Seconds, double select2Seconds, long selectPeakHeapMiB, long selectPeakRssMiB,
      List<String> serverLines) {}

  public static void main(String[] args) throws Exception {
    int rows = Integer.getInteger("bench.rows", 200_000);
    int dim = Integer.getInteger("bench.dim", 1024);
    int callRows = Integer.getInteger("bench.callRows", 20_000);
    String xmx = System.getProperty("bench.serverXmx", "-Xmx6g");
    String baseJar = System.getProperty("bench.baseJar", "");
    double mb = rows * (double) dim * 4 / 1e6;
    System.out.printf("ingest benchmark: %d x %d float32 = %.0f MB, %d rows per AddResponses call, %d cores, server %s%n",
        rows, dim, mb, callRows, Runtime.getRuntime().availableProcessors(), xmx);
    List<String> names = new ArrayList<>();
    List<Path> jars = new ArrayList<>();
    if (!baseJar.isBlank()) {
      names.add("reference " + baseJar);
      jars.add(Path.of(baseJar));
    }
    names.add("this build " + ServerProcess.jar());
    jars.add(ServerProcess.jar());
    List<Result> results = new ArrayList<>();
    for (int j = 0; j < jars.size(); j++) {
      System.out.printf("%n== %s (load %s)%n", names.get(j), load());
      Result r = run(names.get(j), new ServerProcess.Launch(jars.get(j), List.of(xmx)), rows, dim, callRows);
      results.add(r);
      r.serverLines().forEach(l -> System.out.println("  server: " + l));
      print(r, mb);
    }
    System.out.printf("%nsummary (load after: %s)%n", load());
    System.out.println("| jar | file write + fsync | AddResponses, acknowledged | share | restart until served"
        + " | idle heap / RSS | first call needing ids | heap with ids | SelectBatch 1st / 2nd"
        + " | peak heap / RSS during SelectBatch |");
    for (Result r : results) {
      System.out.printf("| %s | %.2f s, %.0f MB/s | %.2f s, %.0f MB/s | %.0f%% | %.2f s | %d / %d MiB | %.2f s | %d MiB"
          + " | %.2f / %.2f s | %d / %d MiB |%n", r.name(), r.fileSeconds(), mb / r.fileSeconds(), r.ingestSeconds(),
          mb / r.ingestSeconds(), 100 * r.fileSeconds() / r.ingestSeconds(), r.restartSeconds(), r.idleHeapMiB(),
          r.idleRssMiB(), r.firstIdSeconds(), r.idsHeapMiB(), r.select1Seconds(), r.select2Seconds(),
          r.selectPeakHeapMiB(), r.selectPeakRssMiB());
    }
  }

  private static void print(Result r, double mb) {
    System.out.printf("baseline   write + fsync to a local file: %6.2f s  %7.1f MB/s%n", r.fileSeconds(), mb / r.fileSeconds());
    System.out.printf("activerm   AddResponses, acknowledged:   %6.2f s  %7.1f MB/s  (%.0f%% of the file write)%n",
        r.ingestSeconds(), mb / r.ingestSeconds(), 100 * r.fileSeconds() / r.ingestSeconds());
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

  private static Result run(String name, ServerProcess.Launch launch, int rows, int dim, int callRows) throws Exception {
    List<String> ids = new ArrayList<>(rows);
    List<String> prompts = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      ids.add("resp-" + i);
      prompts.add("prompt-" + (i / 8));
    }
    Path work = Files.createTempDirectory(Path.of(System.getProperty("bench.workDir", System.getProperty("java.io.tmpdir"))),
        "activerm-bench-");
    try {
      double fileSeconds = writeFile(work.resolve("baseline.f32"), rows, dim, callRows);
      Files.delete(work.resolve("baseline.f32"));

      Path dataDir = work.resolve("data");
      double ingestSeconds = 0;
      List<String> lines = new ArrayList<>();
      try (ServerProcess server = ServerProcess.start(launch, dataDir);
          ActiveRmClient client = ActiveRmClient.connect(server.target())) {
        // Warm both JVMs' JIT on a throwaway project first, as the Python benchmark's best/median
        // of three runs does; the timed project starts from the same server state otherwise.
        client.createProject("warmup", dim, Head.LINEAR, 1.0);
        for (int from = 0; from < Math.min(rows, 2 * callRows); from += callRows) {
          int to = Math.min(rows, from + callRows);
          client.addResponses("warmup", ids.subList(from, to), prompts.subList(from, to), part(from, to, dim), dim);
        }
        client.deleteProject("warmup");
        client.createProject("bench", dim, Head.LINEAR, 1.0);
        for (int from = 0; from < rows; from += callRows) {
          int to = Math.min(rows, from + callRows);
          float[] part = part(from, to, dim); // made outside the timed call
          long t = System.nanoTime();
          client.addResponses("bench", ids.subList(from, to), prompts.subList(from, to), part, dim);
          double seconds = (System.nanoTime() - t) / 1e9;
          ingestSeconds += seconds;
          if (from / callRows % 10 == 0) {
            System.out.printf("  call %d: %.2f s%n", from / callRows, seconds);
          }
        }
        server.log().stream().filter(l -> l.contains("committed in")).skip(2).limit(3).forEach(lines::add);
        // A fitted LINEAR model for SelectBatch after the restart (GREEDY_DOPT needs one).
        java.util.Random pick = new java.util.Random(5);
        List<dev.activerm.client.Types.ComparisonInput> labels = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
          labels.add(dev.activerm.client.Types.ComparisonInput.of(ids.get(pick.nextInt(rows)), ids.get(pick.nextInt(rows)),
              pick.nextBoolean() ? dev.activerm.client.Types.Outcome.A : dev.activerm.client.Types.Outcome.B));
        }
        client.addComparisons("bench", labels);
        client.fit("bench", dev.activerm.client.FitOptions.defaults());
        server.kill9();
      }

      long start = System.nanoTime();
      try (ServerProcess server = ServerProcess.start(launch, dataDir);
          // The default 60 s per call is too short for main's first SelectBatch over 10^6 rows at load 20+.
          ActiveRmClient client = ActiveRmClient.builder().target(server.target())
              .deadline(java.time.Duration.ofMinutes(10)).build()) {
        long n = client.getProject("bench").numResponses();
        double restartSeconds = (System.nanoTime() - start) / 1e9;
        if (n != rows) {
          throw new IllegalStateException("restart found " + n + " rows, expected " + rows);
        }
        server.log().stream().filter(l -> l.contains("loaded ")).forEach(lines::add);
        long idleHeap = liveHeapMiB(server.pid());
        long idleRss = rssMiB(server.pid());
        System.out.printf("  ingest %.2f s, file %.2f s, restart %.2f s, idle heap %d MiB, RSS %d MiB%n", ingestSeconds,
            fileSeconds, restartSeconds, idleHeap, idleRss);
        // The first call that needs the id index: a server that reads ids on first use pays
        // that here instead of at start-up, so both are reported.
        long tIds = System.nanoTime();
        int found = client.getResponses("bench", List.of(ids.get(rows - 1)), false).ids().size();
        double firstIdSeconds = (System.nanoTime() - tIds) / 1e9;
        if (found != 1) {
          throw new IllegalStateException("GetResponses found " + found + " of 1 id");
        }
        server.log().stream().filter(l -> l.contains("response ids in")).forEach(lines::add);
        long idsHeap = liveHeapMiB(server.pid());
        System.out.printf("  first id-needing call %.2f s, heap with ids %d MiB%n", firstIdSeconds, idsHeap);
        SelectOptions select = new SelectOptions(8, Strategy.GREEDY_DOPT, SelectOptions.CandidateSource.CROSS_PROMPT,
            List.of(), List.of(), CANDIDATES, 1, false, false, 0);
        MemorySampler sampler = new MemorySampler(server.pid());
        Thread.sleep(1000); // jstat's first sample
        long t = System.nanoTime();
        client.selectBatch("bench", select);
        double select1 = (System.nanoTime() - t) / 1e9;
        t = System.nanoTime();
        client.selectBatch("bench", new SelectOptions(8, Strategy.GREEDY_DOPT,
            SelectOptions.CandidateSource.CROSS_PROMPT, List.of(), List.of(), CANDIDATES, 2, false, false, 0));
        double select2 = (System.nanoTime() - t) / 1e9;
        long[] peak = sampler.stop();
        return new Result(name, fileSeconds, ingestSeconds, restartSeconds, idleHeap, idleRss, firstIdSeconds, idsHeap,
            select1, select2,
            peak[0], peak[1], lines);
      }
    } finally {
      deleteTree(work);
    }
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
