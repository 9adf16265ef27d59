package dev.activerm.server.core.fit;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.model.FitReport;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.core.model.LinearBtFitter;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.MlpNetwork;
import dev.activerm.server.core.model.MlpRewardModel;
import dev.activerm.server.core.model.MlpTrainer;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fit: trains a project's Bradley–Terry head on its comparisons and stores the new version
 * durably before publishing it as the project's latest. A Fit copies the comparisons and the
 * rows they touch under the project's read lock, trains without any project lock (fits of one
 * project run one at a time), then stores and publishes under the write lock. It forms
 * nothing D x D.
 */
public final class Fitting {
  private static final Logger log = LoggerFactory.getLogger(Fitting.class);

  private final ProjectRegistry registry;
  private final ModelVersions versions;
  private final Clock clock;

  public Fitting(ProjectRegistry registry, ModelVersions versions, Clock clock) {
    this.registry = registry;
    this.versions = versions;
    this.clock = clock;
  }

  /**
   * Fits a new model version on all the project's comparisons and publishes it. cancelled
   * (the caller's deadline or cancellation, supplied by the api layer) is polled before
   * training, during it (every Newton step or minibatch) and once more just before the version
   * is stored; a cancelled fit throws {@link CancelledException} and stores nothing.
   */
  public FittedModel fit(String projectId, FitSettings settings, BooleanSupplier cancelled) {
    ProjectState s = registry.require(projectId);
    synchronized (s.fitLock()) {
      long start = System.nanoTime();
      try {
        return fitLocked(s, projectId, settings, cancelled, start);
      } catch (CancelledException e) {
        log.info("project '{}': {} after {} ms; nothing stored", projectId, e.getMessage(),
            (System.nanoTime() - start) / 1_000_000);
        throw e;
      }
    }
  }

  private FittedModel fitLocked(
      ProjectState s, String projectId, FitSettings settings, BooleanSupplier cancelled, long start) {
    CancelledException.checkFit(cancelled, "the wait for an earlier Fit of the project");
    HeadType head = s.spec().head().type();
    boolean validation = head == HeadType.MLP && settings.mlp().validationFraction() > 0;
    int needed = validation ? 2 : 1;
    ComparisonSet data;
    long seenSeq;
    FittedModel previous;
    Lock l = s.readLock();
    try {
      int count = s.comparisons().size();
      if (count < needed) {
        throw ActiveRmException.failedPrecondition(
            "project '" + projectId + "' has " + count + " comparisons; Fit needs at least " + needed
                + (validation ? " (one to train on and one to hold out, since mlp.validation_fraction > 0)" : "")
                + ". Add labeled pairs with AddComparisons, then call Fit again");
      }
      data = ComparisonSnapshot.of(s, count);
      seenSeq = s.comparisons().nextSeq();
      previous = s.latest();
    } finally {
      l.unlock();
    }
    log.info("project '{}': Fit started ({}, {} comparisons)", projectId, head, data.size());
    long version = previous == null ? 1 : previous.version() + 1;
    RewardModel trained;
    FitReport report;
    if (head == HeadType.LINEAR) {
      FitMemory.checkLinear(projectId, data.dim(), data.numRows(), data.size());
    } else {
      FitMemory.checkMlp(projectId, data.dim(), s.spec().head().hiddenSizes(), data.numRows(), data.size(),
          settings.mlp());
    }
    if (head == HeadType.LINEAR) {
      double[] startW = settings.warmStart() && previous != null
          && previous.model() instanceof LinearRewardModel p ? p.weights() : null;
      LinearBtFitter.Result r = new LinearBtFitter(data, s.spec().l2(), cancelled).fit(settings.linear(), startW);
      trained = new LinearRewardModel(version, r.weights());
      report = r.report();
    } else {
      MlpNetwork startNet = settings.warmStart() && previous != null
          && previous.model() instanceof MlpRewardModel p ? p.network() : null;
      MlpTrainer.Result r = MlpTrainer.fit(
          data, s.spec().head().hiddenSizes(), s.spec().l2(), settings.mlp(), settings.seed(), startNet, cancelled);
      trained = new MlpRewardModel(version, r.network());
      report = r.report();
    }
    report = report.withWallNanos(System.nanoTime() - start);
    s.lock().writeLock().lock();
    try {
      CancelledException.checkFit(cancelled, "the wait to store the new version");
      s.checkNotDeleted();
      FittedModel fitted = new FittedModel(trained, head, report, seenSeq, Instant.ofEpochMilli(clock.millis()));
      versions.storeAndPublish(s, fitted);
      log.info("project '{}': fitted model version {} ({}, {} comparisons, loss {}, {} iterations, {} ms)",
          projectId, version, head, data.size(), report.loss(), report.iterations(), report.wallNanos() / 1_000_000);
      return fitted;
    } finally {
      s.lock().writeLock().unlock();
    }
  }
}
