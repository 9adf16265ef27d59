package dev.activerm.bench;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Head;
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
import java.util.Random;

/**
 * Ingestion and restart benchmark (not a test): N x D float32 responses through the Java
 * client into the packaged server, against writing the same bytes to a local file with
 * fsync; then the time from starting the process until it serves the project.
 *
 * <p>Run: {@code mvn -B -q -pl integration-tests -am -Pbench-ingest -DskipTests verify}
 * (sizes: -Dbench.rows=200000 -Dbench.dim=1024 -Dbench.callRows=20000).
 */
public final class IngestBenchmark {
  public static void main(String[] args) throws Exception {
    int rows = Integer.getInteger("bench.rows", 200_000);
    int dim = Integer.getInteger("bench.dim", 1024);
    int callRows = Integer.getInteger("bench.callRows", 20_000);
    double mb = rows * (double) dim * 4 / 1e6;
    System.out.printf("ingest benchmark: %d x %d float32 = %.0f MB, %d rows per AddResponses call, %d cores%n",
        rows, dim, mb, callRows, Runtime.getRuntime().availableProcessors());

    float[] data = new float[rows * dim];
    Random random = new Random(42);
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) random.nextGaussian();
    }
    List<String> ids = new ArrayList<>(rows);
    List<String> prompts = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      ids.add("resp-" + i);
      prompts.add("prompt-" + (i / 8));
    }

    Path work = Files.createTempDirectory("activerm-bench-");
    try {
      double fileSeconds = writeFile(work.resolve("baseline.f32"), data);
      System.out.printf("baseline   write + fsync to a local file: %6.2f s  %7.1f MB/s%n", fileSeconds, mb / fileSeconds);

      Path dataDir = work.resolve("data");
      double ingestSeconds;
      try (ServerProcess server = ServerProcess.start(dataDir);
          ActiveRmClient client = ActiveRmClient.connect(server.target())) {
        // Warm both JVMs' JIT on a throwaway project first, as the Python benchmark's best/median
        // of three runs does; the timed project starts from the same server state otherwise.
        client.createProject("warmup", dim, Head.LINEAR, 1.0);
        for (int from = 0; from < Math.min(rows, 2 * callRows); from += callRows) {
          int to = Math.min(rows, from + callRows);
          float[] part = new float[(to - from) * dim];
          System.arraycopy(data, from * dim, part, 0, part.length);
          client.addResponses("warmup", ids.subList(from, to), prompts.subList(from, to), part, dim);
        }
        client.deleteProject("warmup");
        client.createProject("bench", dim, Head.LINEAR, 1.0);
        long start = System.nanoTime();
        for (int from = 0; from < rows; from += callRows) {
          int to = Math.min(rows, from + callRows);
          float[] part = new float[(to - from) * dim];
          System.arraycopy(data, from * dim, part, 0, part.length);
          long t = System.nanoTime();
          client.addResponses("bench", ids.subList(from, to), prompts.subList(from, to), part, dim);
          System.out.printf("  call %d: %.2f s%n", from / callRows, (System.nanoTime() - t) / 1e9);
        }
        ingestSeconds = (System.nanoTime() - start) / 1e9;
        server.log().stream().filter(l -> l.contains("committed in")).forEach(l -> System.out.println("  server: " + l));
        server.kill9();
      }
      System.out.printf("activerm   AddResponses, acknowledged:   %6.2f s  %7.1f MB/s  (%.0f%% of the file write)%n",
          ingestSeconds, mb / ingestSeconds, 100 * fileSeconds / ingestSeconds);

      long start = System.nanoTime();
      try (ServerProcess server = ServerProcess.start(dataDir);
          ActiveRmClient client = ActiveRmClient.connect(server.target())) {
        long n = client.getProject("bench").numResponses();
        double restartSeconds = (System.nanoTime() - start) / 1e9;
        if (n != rows) {
          throw new IllegalStateException("restart found " + n + " rows, expected " + rows);
        }
        System.out.printf("restart    process start -> project served: %6.2f s  (%d responses back)%n", restartSeconds, n);
        server.log().stream().filter(l -> l.contains("loaded ")).forEach(l -> System.out.println("  server: " + l));
      }
    } finally {
      deleteTree(work);
    }
  }

  private static double writeFile(Path file, float[] data) throws IOException {
    long start = System.nanoTime();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
      int perBuffer = buffer.capacity() / 4;
      for (int offset = 0; offset < data.length; offset += perBuffer) {
        int n = Math.min(perBuffer, data.length - offset);
        buffer.clear();
        buffer.asFloatBuffer().put(data, offset, n);
        buffer.limit(n * 4);
        while (buffer.hasRemaining()) {
          ch.write(buffer);
        }
      }
      ch.force(true);
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static void deleteTree(Path root) throws IOException {
    try (var walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
