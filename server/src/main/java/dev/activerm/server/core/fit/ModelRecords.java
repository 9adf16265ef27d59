package dev.activerm.server.core.fit;

import dev.activerm.server.core.model.FitReport;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.store.ModelRecord;
import java.time.Instant;

/** Model versions <-> their store records. */
final class ModelRecords {
  private ModelRecords() {}

  static ModelRecord toRecord(long key, FittedModel f) {
    FitReport r = f.report();
    return new ModelRecord(
        key, f.version(), f.headType().name(), ModelCodec.layerSizes(f.model()), ModelCodec.encode(f.model()),
        r.loss(), r.iterations(), r.gradientNorm(), r.converged(), r.trainAccuracy(), r.validationAccuracy(),
        r.wallNanos(), r.numComparisons(), f.comparisonsSeen(), f.createTime().toEpochMilli());
  }

  static FittedModel fromRecord(ModelRecord r) {
    RewardModel model = ModelCodec.decode(r.version(), r.layerSizes(), r.params());
    FitReport report = new FitReport(
        r.loss(), r.iterations(), r.gradientNorm(), r.converged(), r.trainAccuracy(), r.validationAccuracy(),
        r.wallNanos(), r.numComparisons());
    return new FittedModel(model, HeadType.valueOf(r.headType()), report, r.comparisonsSeen(),
        Instant.ofEpochMilli(r.createTimeMillis()));
  }
}
