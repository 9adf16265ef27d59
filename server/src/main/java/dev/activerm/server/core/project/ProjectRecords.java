package dev.activerm.server.core.project;

import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.store.ComparisonRecord;
import dev.activerm.server.store.ProjectRecord;
import java.time.Instant;

/** Projects and comparisons <-> their store records. */
final class ProjectRecords {
  private ProjectRecords() {}

  /** The record of a new project (key 0: the store assigns it). */
  static ProjectRecord toRecord(ProjectSpec spec) {
    return new ProjectRecord(
        0, spec.id(), spec.embeddingDim(), spec.head().type().name(), spec.head().hiddenSizes(), spec.l2(),
        spec.createTime().toEpochMilli());
  }

  static ProjectSpec spec(ProjectRecord r) {
    HeadSpec head = new HeadSpec(HeadType.valueOf(r.headType()), r.hiddenSizes());
    return new ProjectSpec(r.id(), r.embeddingDim(), head, r.l2(), Instant.ofEpochMilli(r.createTimeMillis()));
  }

  /** Appends a stored comparison to the in-memory log. */
  static void append(ComparisonLog log, ComparisonRecord c) {
    log.append(c.aRow(), c.bRow(), Outcome.values()[c.outcome()], c.weight(), c.annotatorId(), c.createTimeMillis());
  }
}
