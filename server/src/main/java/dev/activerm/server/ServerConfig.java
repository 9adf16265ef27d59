package dev.activerm.server;

import dev.activerm.server.core.project.Limits;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a server needs to start; validated here so a bad flag fails at start-up with
 * a sentence, not deep inside gRPC.
 */
public record ServerConfig(
    String bindAddress,
    int port,
    Path dataDir,
    int maxMessageBytes,
    long cacheBytes,
    int grpcThreads,
    int computeThreads,
    Duration shutdownGrace,
    Security security,
    Limits limits,
    int metricsPort,
    int flowControlWindowBytes) {

  /**
   * The server's HTTP/2 receive window unless --flow-control-window-mib says otherwise: two of
   * the Java client's 8 MiB upload chunks, so the next chunk can arrive while one is written.
   */
  public static final int DEFAULT_FLOW_CONTROL_WINDOW_MIB = 16;

  /** Largest --flow-control-window-mib: HTTP/2 windows stop at 2^31 - 1 bytes. */
  public static final int MAX_FLOW_CONTROL_WINDOW_MIB = 1024;

  /** TLS and API keys; every path null means off (plaintext, no keys: for local use). */
  public record Security(Path tlsCert, Path tlsKey, Path apiKeysFile) {
    public static final Security OFF = new Security(null, null, null);

    public Security {
      if ((tlsCert == null) != (tlsKey == null)) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together; give both or neither");
      }
    }

    public boolean tls() {
      return tlsCert != null;
    }
  }

  public ServerConfig {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port is " + port + "; use 0..65535 (0 picks a free port)");
    }
    if (maxMessageBytes < 1 << 20) {
      throw new IllegalArgumentException("--max-message-mib must be at least 1");
    }
    if (cacheBytes < 0) {
      throw new IllegalArgumentException("--cache-mib must be >= 0");
    }
    if (grpcThreads < 1 || computeThreads < 1) {
      throw new IllegalArgumentException("--grpc-threads and --compute-threads must be >= 1");
    }
    if (security == null || limits == null) {
      throw new IllegalArgumentException("security and limits must be set (use Security.OFF, Limits.DEFAULT)");
    }
    if (metricsPort < -1 || metricsPort > 65535) {
      throw new IllegalArgumentException("--metrics-port is " + metricsPort + "; use 0..65535, or leave it unset for no endpoint");
    }
    if (flowControlWindowBytes < 0 || flowControlWindowBytes > MAX_FLOW_CONTROL_WINDOW_MIB << 20) {
      throw new IllegalArgumentException("--flow-control-window-mib is " + (flowControlWindowBytes >> 20)
          + "; use 0 (gRPC's own, auto-tuned window) .. " + MAX_FLOW_CONTROL_WINDOW_MIB);
    }
    if (shutdownGrace.isNegative()) {
      throw new IllegalArgumentException("--shutdown-grace-seconds must be >= 0");
    }
  }

  /** As the canonical constructor, with the default flow control window (tests and embedding). */
  public ServerConfig(String bindAddress, int port, Path dataDir, int maxMessageBytes, long cacheBytes, int grpcThreads,
      int computeThreads, Duration shutdownGrace, Security security, Limits limits, int metricsPort) {
    this(bindAddress, port, dataDir, maxMessageBytes, cacheBytes, grpcThreads, computeThreads, shutdownGrace, security,
        limits, metricsPort, DEFAULT_FLOW_CONTROL_WINDOW_MIB << 20);
  }

  /** Defaults for tests and embedding: loopback, a free port, the given data dir. */
  public static ServerConfig defaults(Path dataDir) {
    int cores = Runtime.getRuntime().availableProcessors();
    return new ServerConfig(
        "127.0.0.1", 0, dataDir, 64 << 20, 512L << 20, Math.max(4, 2 * cores), cores, Duration.ofSeconds(30),
        Security.OFF, Limits.DEFAULT, -1, DEFAULT_FLOW_CONTROL_WINDOW_MIB << 20);
  }
}
