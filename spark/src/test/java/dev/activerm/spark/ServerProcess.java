package dev.activerm.spark;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged server jar (server/target/activerm-server.jar, built in the server module's
 * package phase, before this module's integration-test phase) as a child process on a free
 * loopback port of its own data dir. The port is read from the server's log line, so there
 * is no race for a port.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("activerm listening on port (\\d+)");

  private final Process process;
  private final int port;
  private final List<String> log;

  private ServerProcess(Process process, int port, List<String> log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts the jar on dataDir and waits at most 60 s until it listens. */
  static ServerProcess start(Path dataDir) throws IOException {
    Path jar = Path.of(System.getProperty("activerm.server.jar", "../server/target/activerm-server.jar"));
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar.toAbsolutePath() + " is missing; build it with mvn -pl server -am package");
    }
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-jar", jar.toString(), "--bind", "127.0.0.1", "--port", "0", "--data-dir", dataDir.toString());
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(1)));
          }
        }
      } catch (IOException ignored) {
        // The process ended.
      }
      port.completeExceptionally(new IllegalStateException("server exited before listening"));
    }, "server-log");
    reader.setDaemon(true);
    reader.start();
    try {
      return new ServerProcess(p, port.get(60, TimeUnit.SECONDS), lines);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IllegalStateException("server did not start: " + e.getMessage() + "\n" + String.join("\n", lines), e);
    }
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  long pid() {
    return process.pid();
  }

  List<String> log() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
