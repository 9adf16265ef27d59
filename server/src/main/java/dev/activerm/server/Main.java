package dev.activerm.server;

import dev.activerm.server.core.project.Limits;
import dev.activerm.server.store.StoreException;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar activerm-server.jar [flags]}; every flag can also come from an ACTIVERM_* variable. */
@Command(
    name = "activerm-server",
    mixinStandardHelpOptions = true,
    subcommands = HashKeyCommand.class,
    version = "activerm 0.1.0",
    description = "Serves activerm: which response pairs should human annotators compare next.")
public final class Main implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  @Option(names = "--bind", defaultValue = "${env:ACTIVERM_BIND:-127.0.0.1}",
      description = "Address to listen on; 0.0.0.0 for all interfaces (env ACTIVERM_BIND, default ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--port", defaultValue = "${env:ACTIVERM_PORT:-50051}",
      description = "gRPC port, 0 for a free one (env ACTIVERM_PORT, default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--data-dir", defaultValue = "${env:ACTIVERM_DATA_DIR:-activerm-data}",
      description = "Where projects are stored: activerm.db and pools/ (env ACTIVERM_DATA_DIR, default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--max-message-mib", defaultValue = "${env:ACTIVERM_MAX_MESSAGE_MIB:-64}",
      description = "Largest request message in MiB; upload chunks must fit (env ACTIVERM_MAX_MESSAGE_MIB, default ${DEFAULT-VALUE}).")
  int maxMessageMib;

  @Option(names = "--cache-mib", defaultValue = "${env:ACTIVERM_CACHE_MIB:-512}",
      description = "Memory for derived model state (Fisher matrices and Cholesky factors, Laplace factors, older model versions) in MiB (env ACTIVERM_CACHE_MIB, default ${DEFAULT-VALUE}).")
  long cacheMib;

  @Option(names = "--grpc-threads", defaultValue = "${env:ACTIVERM_GRPC_THREADS:-0}",
      description = "Threads serving calls; 0 means max(4, 2 x cores) (env ACTIVERM_GRPC_THREADS).")
  int grpcThreads;

  @Option(names = "--compute-threads", defaultValue = "${env:ACTIVERM_COMPUTE_THREADS:-0}",
      description = "Threads for numeric kernels; 0 means the number of cores (env ACTIVERM_COMPUTE_THREADS).")
  int computeThreads;

  @Option(names = "--shutdown-grace-seconds", defaultValue = "${env:ACTIVERM_SHUTDOWN_GRACE_SECONDS:-30}",
      description = "On SIGTERM, how long in-flight calls may finish (env ACTIVERM_SHUTDOWN_GRACE_SECONDS, default ${DEFAULT-VALUE}).")
  long shutdownGraceSeconds;

  @Option(names = "--tls-cert", defaultValue = "${env:ACTIVERM_TLS_CERT}",
      description = "PEM certificate chain; with --tls-key turns TLS on (env ACTIVERM_TLS_CERT).")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:ACTIVERM_TLS_KEY}",
      description = "PEM private key (unencrypted PKCS#8) for --tls-cert, checked against it at start-up (env ACTIVERM_TLS_KEY).")
  Path tlsKey;

  @Option(names = "--api-keys-file", defaultValue = "${env:ACTIVERM_API_KEYS_FILE}",
      description = "Hashed API keys, one 'sha256:<hex> <name> <admin|project,prefix*>' per line; "
          + "off when unset (env ACTIVERM_API_KEYS_FILE). See the hash-key command.")
  Path apiKeysFile;

  @Option(names = "--max-projects", defaultValue = "${env:ACTIVERM_MAX_PROJECTS:-10000}",
      description = "Most projects on the server, 0 for no limit (env ACTIVERM_MAX_PROJECTS, default ${DEFAULT-VALUE}).")
  long maxProjects;

  @Option(names = "--max-pool-mib-per-project", defaultValue = "${env:ACTIVERM_MAX_POOL_MIB_PER_PROJECT:-0}",
      description = "Most embedding MiB in one project, 0 for no limit (env ACTIVERM_MAX_POOL_MIB_PER_PROJECT).")
  long maxPoolMib;

  @Option(names = "--max-call-mib", defaultValue = "${env:ACTIVERM_MAX_CALL_MIB:-0}",
      description = "Most embedding MiB one AddResponses call may carry (it is held in memory until it commits); "
          + "0 means a quarter of the heap (env ACTIVERM_MAX_CALL_MIB).")
  long maxCallMib;

  @Option(names = "--metrics-port", defaultValue = "${env:ACTIVERM_METRICS_PORT:--1}",
      description = "Serve Prometheus metrics at http://BIND:PORT/metrics; -1 (default) for none (env ACTIVERM_METRICS_PORT).")
  int metricsPort;

  @Option(names = "--flow-control-window-mib", defaultValue = "${env:ACTIVERM_FLOW_CONTROL_WINDOW_MIB:-16}",
      description = "HTTP/2 receive window per stream in MiB, fixed: how far a client may send ahead of what the "
          + "server has read on one call. Each upload the server is not reading yet (e.g. one waiting for its "
          + "project's upload slot) can hold up to this much unread memory, besides its first chunk (up to "
          + "--max-message-mib). 0 keeps gRPC's own (1 MiB, auto-tuned up to 8 MiB) (env "
          + "ACTIVERM_FLOW_CONTROL_WINDOW_MIB, default ${DEFAULT-VALUE}).")
  int flowControlWindowMib;

  @Spec CommandSpec spec;

  /** Netty's JFR switch, under gRPC's shaded package name. */
  static final String NETTY_JFR = "io.grpc.netty.shaded.io.netty.jfr.enabled";

  public static void main(String[] args) {
    nettyJfrOffUnlessAsked();
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line main runs. A flag value the config refuses (a port out of range, a
   * window too large) ends the start with its message and exit code 2, as picocli does for a
   * flag it cannot parse, not with a stack trace that hides the message.
   */
  static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new Main());
    cmd.setExecutionExceptionHandler((e, c, parsed) -> {
      if (e instanceof IllegalArgumentException) {
        c.getErr().println("activerm-server: " + e.getMessage() + " (--help lists every flag and its range)");
        return 2;
      }
      throw e;
    });
    return cmd;
  }

  /**
   * Netty registers its buffer-allocation JFR events on the first allocation of the first
   * call, which starts JFR's metadata machinery (about 300 classes, 0.1-0.2 s) whether or
   * not a recording runs. Off unless the operator sets the property (true: Netty's default).
   */
  static void nettyJfrOffUnlessAsked() {
    if (System.getProperty(NETTY_JFR) == null) {
      System.setProperty(NETTY_JFR, "false");
    }
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig config = config();
    if (config.security().tls()) {
      try {
        TlsFiles.check(config.security().tlsCert(), config.security().tlsKey());
      } catch (TlsFiles.Problem e) {
        spec.commandLine().getErr().println("activerm-server: " + e.getMessage());
        return 2;
      }
    }
    ActiveRmServer server;
    try {
      server = new ActiveRmServer(transport(config), config).start();
    } catch (StoreException e) {
      // The data dir cannot be served as it is (locked by another server, inconsistent, damaged):
      // the message says what is wrong and what to do; a stack trace would only bury it.
      log.error("activerm cannot start: {}", e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "activerm-shutdown"));
    server.awaitTermination();
    return 0;
  }

  /** The parsed flags as a config (validated there). */
  ServerConfig config() {
    int cores = Runtime.getRuntime().availableProcessors();
    // Checked here as well as in ServerConfig: the MiB -> bytes shift below would overflow first.
    if (flowControlWindowMib < 0 || flowControlWindowMib > ServerConfig.MAX_FLOW_CONTROL_WINDOW_MIB) {
      throw new IllegalArgumentException("--flow-control-window-mib is " + flowControlWindowMib + "; use 0 (gRPC's own,"
          + " auto-tuned window) .. " + ServerConfig.MAX_FLOW_CONTROL_WINDOW_MIB);
    }
    return new ServerConfig(
        bind, port, dataDir,
        Math.toIntExact(maxMessageMib * (1L << 20)),
        cacheMib << 20,
        grpcThreads == 0 ? Math.max(4, 2 * cores) : grpcThreads,
        computeThreads == 0 ? cores : computeThreads,
        Duration.ofSeconds(shutdownGraceSeconds),
        new ServerConfig.Security(tlsCert, tlsKey, apiKeysFile),
        new Limits(maxProjects, maxPoolMib << 20, maxCallMib == 0 ? Limits.DEFAULT.maxCallBytes() : maxCallMib << 20),
        metricsPort,
        flowControlWindowMib << 20);
  }

  /**
   * The Netty transport for the config: address, TLS, and the HTTP/2 receive window. A fixed
   * window turns gRPC's auto-tuning off. It bounds the unread bytes per stream only: gRPC
   * refills the connection window as bytes arrive, so a connection's unread bytes are up to
   * the window times its streams that the server is not reading.
   */
  static NettyServerBuilder transport(ServerConfig config) throws java.io.IOException {
    InetSocketAddress address = new InetSocketAddress(config.bindAddress(), config.port());
    NettyServerBuilder builder = config.security().tls()
        ? NettyServerBuilder.forAddress(address,
            TlsServerCredentials.create(config.security().tlsCert().toFile(), config.security().tlsKey().toFile()))
        : NettyServerBuilder.forAddress(address);
    if (config.flowControlWindowBytes() > 0) {
      builder.flowControlWindow(config.flowControlWindowBytes());
    }
    return builder;
  }
}
