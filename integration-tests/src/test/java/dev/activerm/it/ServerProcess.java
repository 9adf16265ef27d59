package dev.activerm.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged server jar running as a real process on a free loopback port. The port is
 * read from the server's own log line, so there is no race for a port.
 */
public final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("activerm listening on port (\\d+)");

  private final Process process;
  private final int port;
  private final List<String> log;

  private ServerProcess(Process process, int port, List<String> log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  public static Path jar() {
    Path jar = Path.of(System.getProperty("activerm.server.jar", "../server/target/activerm-server.jar"));
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar.toAbsolutePath() + " is missing; build it with mvn -pl server -am package");
    }
    return jar;
  }

  /** Which jar to run and the JVM flags to run it with. */
  public record Launch(Path jar, List<String> jvmFlags) {
    /** The jar under test with a 4 GiB heap. */
    public static Launch defaults() {
      return new Launch(ServerProcess.jar(), List.of("-Xmx4g"));
    }

    public Launch withJvmFlags(String... flags) {
      return new Launch(jar, List.of(flags));
    }

    public Launch withJar(Path other) {
      return new Launch(other, jvmFlags);
    }
  }

  private static List<String> command(Launch launch, Path dataDir, String... extraFlags) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(launch.jvmFlags());
    command.addAll(List.of("-jar", launch.jar().toString(), "--port", "0", "--data-dir", dataDir.toString()));
    command.addAll(List.of(extraFlags));
    return command;
  }

  /** How a server run that was expected to stop by itself ended. */
  public record Exit(int code, String output) {}

  /**
   * Runs the jar on the data dir expecting it to refuse to start, and returns its exit code
   * and output. A server that starts listening instead (or is still running after the
   * bound) is killed and reported as an IllegalStateException with its output.
   */
  public static Exit runExpectingExit(Path dataDir, Duration within, String... extraFlags)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command(Launch.defaults(), dataDir, extraFlags)).redirectErrorStream(true).start();
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Boolean> listening = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          lines.add(line);
          if (LISTENING.matcher(line).find()) {
            listening.complete(true);
          }
        }
      } catch (IOException ignored) {
        // The process ended.
      }
      listening.complete(false);
    }, "server-log");
    reader.setDaemon(true);
    reader.start();
    boolean served;
    try {
      served = listening.get(within.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      served = true;
    }
    if (served) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
      throw new IllegalStateException("the server started (or kept running) instead of refusing:\n"
          + String.join("\n", lines));
    }
    // The output ended: the process is exiting.
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("the server closed its output but did not exit:\n" + String.join("\n", lines));
    }
    reader.join(10_000);
    return new Exit(p.exitValue(), String.join("\n", lines));
  }

  /** Starts the jar on the data dir and waits (bounded) until it listens. */
  public static ServerProcess start(Path dataDir, String... extraFlags) throws IOException, InterruptedException {
    return start(Launch.defaults(), dataDir, extraFlags);
  }

  /** Starts the given jar with the given JVM flags on the data dir and waits (bounded) until it listens. */
  public static ServerProcess start(Launch launch, Path dataDir, String... extraFlags)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command(launch, dataDir, extraFlags)).redirectErrorStream(true).start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    // The reader keeps filling this list for the life of the process; log() reads it.
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
      port.completeExceptionally(new IllegalStateException("server exited before listening:\n" + String.join("\n", lines)));
    }, "server-log");
    reader.setDaemon(true);
    reader.start();
    try {
      return new ServerProcess(p, port.get(Long.getLong("activerm.server.startSeconds", 60), TimeUnit.SECONDS), lines);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IllegalStateException("server did not start: " + e.getMessage() + "\n" + String.join("\n", lines), e);
    }
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  /** The server's output so far (stdout and stderr), one entry per line; kept up to date while it runs. */
  public List<String> log() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  public String target() {
    return "127.0.0.1:" + port;
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed. */
  public void kill9() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("server survived SIGKILL for 30 s");
    }
  }

  /** SIGTERM, then waits for the exit code. */
  public int terminate(Duration within) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("server did not stop within " + within + " of SIGTERM");
    }
    return process.exitValue();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
