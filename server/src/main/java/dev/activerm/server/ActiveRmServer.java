package dev.activerm.server;

import dev.activerm.server.api.ActiveRmGrpcService;
import dev.activerm.server.api.RequestDecoding;
import dev.activerm.server.api.auth.ApiKeyInterceptor;
import dev.activerm.server.api.auth.ApiKeys;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.api.observability.MetricsEndpoint;
import dev.activerm.server.api.observability.RequestContextInterceptor;
import dev.activerm.server.core.ActiveRmCore;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.OjAlgoSetup;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.store.DataDirLock;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
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
  private final DataDirLock dataDirLock;
  private final SqliteStore store;
  private static final String SERVICE_NAME = "activerm.v1.ActiveRewardModelingService";

  private final HealthStatusManager health = new HealthStatusManager();
  private final DataDirGuard dataDirGuard;
  private final ExecutorService executor;
  /** Null when --metrics-port is -1: nothing could read the meters, so none are kept (see the constructor). */
  private final MetricsEndpoint metrics;
  private final Server server;
  private boolean closed;
  private int metricsPort = -1;

  /** Opens the data dir and loads every project; call {@link #start()} to serve. */
  public ActiveRmServer(ServerBuilder<?> builder, ServerConfig config) {
    this(builder, config, Clock.systemUTC());
  }

  /** As above, with the clock every server-time decision reads (pending TTLs; tests pass a fixed one). */
  public ActiveRmServer(ServerBuilder<?> builder, ServerConfig config, Clock clock) {
    this.config = config;
    Blas.setThreads(config.computeThreads());
    Parallel.setThreads(config.computeThreads());
    OjAlgoSetup.setThreads(config.computeThreads());
    // Before anything reads or writes the data dir: a second server on it must not start.
    this.dataDirLock = DataDirLock.acquire(config.dataDir());
    ActiveRmCore core;
    try {
      this.store = SqliteStore.open(config.dataDir());
    } catch (RuntimeException e) {
      dataDirLock.close();
      throw e;
    }
    try {
      core = ActiveRmCore.open(
          store, new PoolFiles(config.dataDir()), clock, config.limits(), config.cacheBytes());
    } catch (RuntimeException e) {
      closeStorage();
      throw e;
    }
    this.dataDirGuard = new DataDirGuard(dataDirLock, health, List.of("", SERVICE_NAME));
    // Without an endpoint the meters go to an empty composite registry, whose meters record
    // nothing: the Prometheus registry, its JVM binders (JMX) and the per-call interceptor are
    // 0.1-0.2 s of every start and a cost on every call that no one could scrape.
    this.metrics = config.metricsPort() >= 0 ? new MetricsEndpoint() : null;
    MeterRegistry meters = metrics != null ? metrics.registry() : new CompositeMeterRegistry();
    DomainMetrics domainMetrics = new DomainMetrics(meters);
    this.executor = Executors.newFixedThreadPool(config.grpcThreads(), namedThreads("activerm-grpc-"));
    ServerServiceDefinition service;
    try {
      // The last interceptor runs first: request ids and logging wrap the data dir guard (so a
      // refusal is logged with its request id), which wraps metrics, which wrap auth.
      List<ServerInterceptor> interceptors = new ArrayList<>();
      if (metrics != null) {
        interceptors.add(new MetricCollectingServerInterceptor(meters));
      }
      interceptors.add(dataDirGuard);
      interceptors.add(new RequestContextInterceptor());
      service = ServerInterceptors.intercept(
          withAuth(new ActiveRmGrpcService(core, domainMetrics, executor).bindService(), config.security()),
          interceptors);
    } catch (IOException | RuntimeException e) {
      executor.shutdownNow();
      closeStorage();
      throw new IllegalArgumentException("cannot read --api-keys-file: " + e.getMessage(), e);
    }
    registerGauges(core, domainMetrics, meters);
    // Decoding wraps every service (health and reflection need no key): bytes that are not a
    // valid request get INVALID_ARGUMENT and a rate-limited log line, never a stack trace.
    this.server = builder
        .executor(executor)
        .maxInboundMessageSize(config.maxMessageBytes())
        .addService(RequestDecoding.guard(service))
        .addService(RequestDecoding.guard(health.getHealthService().bindService()))
        .addService(RequestDecoding.guard(ProtoReflectionServiceV1.newInstance().bindService()))
        .build();
  }

  private static ServerServiceDefinition withAuth(ServerServiceDefinition service, ServerConfig.Security security)
      throws IOException {
    if (security.apiKeysFile() == null) {
      log.warn("API keys are off: any client that reaches this port can use every project (use --api-keys-file in production)");
      return service;
    }
    ApiKeys keys = ApiKeys.load(security.apiKeysFile());
    log.info("API keys on: {} keys from {}", keys.size(), security.apiKeysFile());
    return ServerInterceptors.intercept(service, new ApiKeyInterceptor(keys));
  }

  private static void registerGauges(ActiveRmCore core, DomainMetrics domainMetrics, MeterRegistry meters) {
    ProjectRegistry registry = core.projects();
    core.caches().forEach(domainMetrics::bindCache);
    domainMetrics.bindModelsInMemory(registry::modelsInMemory);
    Gauge.builder("activerm.projects", registry, ProjectRegistry::projectCount)
        .description("projects on the server").register(meters);
    Gauge.builder("activerm.responses", registry, ProjectRegistry::responseCount)
        .description("responses in all pools").register(meters);
    Gauge.builder("activerm.comparisons", registry, ProjectRegistry::comparisonCount)
        .description("labeled comparisons in all projects").register(meters);
  }

  /** The bound metrics port, or -1 when the endpoint is off. */
  public int metricsPort() {
    return metricsPort;
  }

  public ActiveRmServer start() throws IOException {
    server.start();
    if (metrics != null) {
      metricsPort = metrics.serve(config.bindAddress(), config.metricsPort());
      log.info("metrics at http://{}:{}/metrics", config.bindAddress(), metricsPort);
    }
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
    dataDirGuard.start();
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
    dataDirGuard.close();
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
    if (metrics != null) {
      metrics.close();
    }
    closeStorage();
    log.info("activerm stopped");
  }

  /** The database, then the data dir lock: the next server may start only once nothing here writes. */
  private void closeStorage() {
    try {
      store.close();
    } finally {
      dataDirLock.close();
    }
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
