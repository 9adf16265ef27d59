package dev.activerm.server;

import dev.activerm.server.store.DataDirLock;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses every activerm call once the data dir is deleted or replaced under the running
 * server, and turns its health check NOT_SERVING, so an orchestrator restarts it instead of
 * clients getting INTERNAL per call, or worse an OK for a write that went to an unlinked file.
 * A call that succeeded while the dir vanished is answered UNAVAILABLE too: its commit may
 * have gone with the dir. Checked on every call (two stat calls) and every few seconds for
 * health; the state only ever goes one way, a restart is the way back.
 */
final class DataDirGuard implements ServerInterceptor, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DataDirGuard.class);
  private static final long HEALTH_PERIOD_SECONDS = 5;

  private final DataDirLock lock;
  private final HealthStatusManager health;
  private final List<String> services;
  private final AtomicBoolean broken = new AtomicBoolean();
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "activerm-data-dir-guard");
    t.setDaemon(true);
    return t;
  });

  DataDirGuard(DataDirLock lock, HealthStatusManager health, List<String> services) {
    this.lock = lock;
    this.health = health;
    this.services = List.copyOf(services);
  }

  /** Starts the periodic health check (after the server's health says SERVING). */
  void start() {
    ticker.scheduleWithFixedDelay(this::problem, HEALTH_PERIOD_SECONDS, HEALTH_PERIOD_SECONDS, TimeUnit.SECONDS);
  }

  /** What is wrong with the data dir, if anything; the first time, health goes NOT_SERVING. */
  private Optional<String> problem() {
    Optional<String> problem = lock.whatChanged();
    if (problem.isPresent() && broken.compareAndSet(false, true)) {
      log.error("{}", problem.get());
      services.forEach(s -> health.setStatus(s, ServingStatus.NOT_SERVING));
    }
    return problem;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    Optional<String> before = problem();
    if (before.isPresent()) {
      call.close(Status.UNAVAILABLE.withDescription(before.get()), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        Optional<String> after = status.isOk() ? problem() : Optional.empty();
        super.close(after.isPresent()
            ? Status.UNAVAILABLE.withDescription(after.get() + " (this call finished, but what it stored may be lost with it)")
            : status, trailers);
      }
    }, headers);
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
