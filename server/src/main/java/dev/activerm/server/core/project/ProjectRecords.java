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
        spec.createTime().toEpochMilli(), spec.pendingTtlMillis());
  }

  static ProjectSpec spec(ProjectRecord r) {
    HeadSpec head = new HeadSpec(HeadType.valueOf(r.headType()), r.hiddenSizes());
    return new ProjectSpec(r.id(), r.embeddingDim(), head, r.l2(), Instant.ofEpochMilli(r.createTimeMillis()),
        r.pendingTtlMillis());
  }

  /** Appends a stored comparison to the in-memory log (a deleted one as a tombstone). */
  static void append(ComparisonLog log, ComparisonRecord c) {
    Outcome o = Outcome.values()[c.outcome()];
    if (c.deleted()) {
      log.appendDeleted(c.seq(), c.comparisonId(), c.aRow(), c.bRow(), o, c.weight(), c.annotatorId());
    } else {
      log.append(c.seq(), c.comparisonId(), c.aRow(), c.bRow(), o, c.weight(), c.annotatorId(), c.createTimeMillis());
    }
  }
}
