package dev.activerm.server;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar activerm-server.jar [flags]}; every flag can also come from an ACTIVERM_* variable. */
@Command(
    name = "activerm-server",
    mixinStandardHelpOptions = true,
    version = "activerm 0.1.0",
    description = "Serves activerm: which response pairs should human annotators compare next.")
public final class Main implements Callable<Integer> {

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
      description = "Memory for derived model state (features, Fisher matrices) in MiB (env ACTIVERM_CACHE_MIB, default ${DEFAULT-VALUE}).")
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

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    ServerConfig config = new ServerConfig(
        bind, port, dataDir,
        Math.toIntExact(maxMessageMib * (1L << 20)),
        cacheMib << 20,
        grpcThreads == 0 ? Math.max(4, 2 * cores) : grpcThreads,
        computeThreads == 0 ? cores : computeThreads,
        Duration.ofSeconds(shutdownGraceSeconds));
    ActiveRmServer server =
        new ActiveRmServer(NettyServerBuilder.forAddress(new InetSocketAddress(bind, port)), config).start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "activerm-shutdown"));
    server.awaitTermination();
    return 0;
  }
}
