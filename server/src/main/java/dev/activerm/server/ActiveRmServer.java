package dev.activerm.server;

import dev.activerm.server.api.ActiveRmGrpcService;
import dev.activerm.server.core.ProjectRegistry;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.select.Parallel;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the lifecycle of one activerm server: storage, the gRPC server with health and
 * reflection, and an orderly shutdown. Takes a {@link ServerBuilder} so tests can hand
 * it an in-process builder.
 */
public final class ActiveRmServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ActiveRmServer.class);

  private final ServerConfig config;
  private final SqliteStore store;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ExecutorService executor;
  private final Server server;
  private boolean closed;

  /** Opens the data dir and loads every project; call {@link #start()} to serve. */
  public ActiveRmServer(ServerBuilder<?> builder, ServerConfig config) {
    this.config = config;
    Blas.setThreads(config.computeThreads());
    Parallel.setThreads(config.computeThreads());
    this.store = SqliteStore.open(config.dataDir());
    ProjectRegistry registry;
    try {
      registry = ProjectRegistry.load(store, new PoolFiles(config.dataDir()), Clock.systemUTC());
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    this.executor = Executors.newFixedThreadPool(config.grpcThreads(), namedThreads("activerm-grpc-"));
    this.server = builder
        .executor(executor)
        .maxInboundMessageSize(config.maxMessageBytes())
        .addService(new ActiveRmGrpcService(registry, config.cacheBytes()))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
  }

  public ActiveRmServer start() throws IOException {
    server.start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus("activerm.v1.ActiveRewardModelingService", ServingStatus.SERVING);
    log.info("activerm listening on port {} (data dir {})", server.getPort(), config.dataDir().toAbsolutePath());
    return this;
  }

  /** The bound port (useful when the config asked for port 0). */
  public int port() {
    return server.getPort();
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /**
   * Stops taking calls, lets in-flight calls finish within the grace period, then cancels
   * what is left and closes storage. Safe to call twice.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(config.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("calls still running after {}; cancelling them", config.shutdownGrace());
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
    store.close();
    log.info("activerm stopped");
  }

  private static ThreadFactory namedThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
