package dev.activerm.server.core;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.fit.Fitting;
import dev.activerm.server.core.fit.ModelVersions;
import dev.activerm.server.core.fit.Scoring;
import dev.activerm.server.core.project.Comparisons;
import dev.activerm.server.core.project.Limits;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.Responses;
import dev.activerm.server.core.project.Retirements;
import dev.activerm.server.core.selection.Registrations;
import dev.activerm.server.core.selection.Selections;
import dev.activerm.server.core.selection.StateExport;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.List;

/**
 * The domain of one server, built once over an open store: the project registry, ingestion,
 * comparisons, fitting, scoring and selection, sharing one derived-state cache (bounded by
 * --cache-mib) that drops a project's entries when the project is deleted. The transport
 * receives it ready-made.
 */
public final class ActiveRmCore {
  private final ProjectRegistry projects;
  private final Responses responses;
  private final Comparisons comparisons;
  private final Fitting fitting;
  private final Scoring scoring;
  private final Selections selections;
  private final ModelVersions versions;
  private final Retirements retirements;
  private final StateExport exports;
  private final Registrations registrations;

  private ActiveRmCore(ProjectRegistry projects, Responses responses, Comparisons comparisons, Fitting fitting,
      Scoring scoring, Selections selections, ModelVersions versions, Retirements retirements, StateExport exports,
      Registrations registrations) {
    this.exports = exports;
    this.registrations = registrations;
    this.retirements = retirements;
    this.projects = projects;
    this.responses = responses;
    this.comparisons = comparisons;
    this.fitting = fitting;
    this.scoring = scoring;
    this.selections = selections;
    this.versions = versions;
  }

  /** Loads every project and its latest model from the store. */
  public static ActiveRmCore open(SqliteStore store, PoolFiles poolFiles, Clock clock, Limits limits, long cacheBytes) {
    ProjectRegistry projects = ProjectRegistry.load(store, poolFiles, clock, limits);
    DerivedStateCache cache = new DerivedStateCache(cacheBytes);
    projects.onDelete(cache::invalidateProject);
    ModelVersions versions = ModelVersions.load(projects, store, cache);
    Responses responses = new Responses(projects, store, poolFiles, limits);
    return new ActiveRmCore(
        projects,
        responses,
        new Comparisons(projects, store, clock),
        new Fitting(projects, versions, clock),
        new Scoring(projects, versions, cache),
        new Selections(projects, store, clock, cache),
        versions,
        new Retirements(projects, store, clock),
        new StateExport(projects, cache),
        new Registrations(projects, responses, store, clock));
  }

  public ProjectRegistry projects() {
    return projects;
  }

  public Responses responses() {
    return responses;
  }

  public Comparisons comparisons() {
    return comparisons;
  }

  public Fitting fitting() {
    return fitting;
  }

  public Scoring scoring() {
    return scoring;
  }

  public Retirements retirements() {
    return retirements;
  }

  /** ExportSelectionState: what an off-server selection job (Spark) needs. */
  public StateExport exports() {
    return exports;
  }

  /** RegisterSelection: a batch computed off the server, stored as a selection. */
  public Registrations registrations() {
    return registrations;
  }

  public Selections selections() {
    return selections;
  }

  /** The derived-state cache as a whole and per kind (model versions, Laplace posteriors), for metrics. */
  public List<CacheMetrics> caches() {
    return List.of(versions.cacheMetrics(), scoring.cacheMetrics(), selections.cacheMetrics());
  }
}
