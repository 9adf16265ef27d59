package dev.activerm.server.api;

import com.google.protobuf.Duration;
import dev.activerm.proto.v1.FitReport;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.LinearFitOptions;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.Model;
import dev.activerm.proto.v1.PairScore;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoreResponse;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.core.ActiveRmException;
import dev.activerm.server.core.FieldViolation;
import dev.activerm.server.core.FitSettings;
import dev.activerm.server.core.FittedModel;
import dev.activerm.server.core.RewardModeling;
import dev.activerm.server.core.ScoreQuery;
import dev.activerm.server.core.ScoreResult;
import dev.activerm.server.core.Violations;
import dev.activerm.server.core.model.FitCancelledException;
import io.grpc.Context;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/** Request -> domain call -> response, for Fit and Score. Unset options take their documented defaults. */
final class FitRpcMapper {
  private final RewardModeling modeling;
  private final DomainMetrics metrics;

  FitRpcMapper(RewardModeling modeling, DomainMetrics metrics) {
    this.modeling = modeling;
    this.metrics = metrics;
  }

  /** Fits; the call's deadline or cancellation stops the training (DEADLINE_EXCEEDED / CANCELLED, nothing stored). */
  FitResponse fit(FitRequest r) {
    FitSettings settings = settings(r);
    Context context = Context.current();
    FittedModel m;
    try {
      m = modeling.fit(r.getProjectId(), settings, context::isCancelled);
    } catch (FitCancelledException e) {
      boolean expired = context.getDeadline() != null && context.getDeadline().isExpired();
      throw (expired ? Status.DEADLINE_EXCEEDED : Status.CANCELLED)
          .withDescription(e.getMessage() + "; nothing was stored")
          .asRuntimeException();
    }
    metrics.recordFit(m.headType(), java.time.Duration.ofNanos(m.report().wallNanos()));
    return FitResponse.newBuilder().setModel(model(m)).build();
  }

  ScoreResponse score(ScoreRequest r) {
    List<String> ids = r.hasResponseIds() ? r.getResponseIds().getIdsList() : List.of();
    float[] embeddings = null;
    int rows = 0;
    int cols = 0;
    if (r.hasEmbeddings()) {
      embeddings = MatrixCodec.decode(r.getEmbeddings(), "embeddings");
      rows = r.getEmbeddings().getRows();
      cols = r.getEmbeddings().getCols();
    }
    List<String> a = new ArrayList<>(r.getPairsCount());
    List<String> b = new ArrayList<>(r.getPairsCount());
    for (ResponsePair p : r.getPairsList()) {
      a.add(p.getAId());
      b.add(p.getBId());
    }
    ScoreResult result = modeling.score(
        r.getProjectId(), new ScoreQuery(r.getModelVersion(), ids, embeddings, rows, cols, a, b));
    ScoreResponse.Builder out = ScoreResponse.newBuilder().setModelVersion(result.modelVersion());
    for (double reward : result.rewards()) {
      out.addRewards(reward);
    }
    for (ScoreResult.Pair p : result.pairs()) {
      out.addPairScores(PairScore.newBuilder()
          .setAId(p.aId())
          .setBId(p.bId())
          .setProbability(p.probability())
          .setRewardDiffStddev(p.rewardDiffStddev()));
    }
    return out.build();
  }

  static FitSettings settings(FitRequest r) {
    Violations v = new Violations();
    LinearFitOptions lo = r.getLinear();
    int maxIter = lo.getMaxIterations() == 0
        ? dev.activerm.server.core.model.LinearFitOptions.DEFAULT_MAX_ITERATIONS : lo.getMaxIterations();
    double tol = lo.getTolerance() == 0 ? dev.activerm.server.core.model.LinearFitOptions.DEFAULT_TOLERANCE : lo.getTolerance();
    if (maxIter < 1 || maxIter > 1000) {
      v.add("linear.max_iterations", "is " + lo.getMaxIterations() + "; use 0..1000 (0 means 100)");
    }
    if (!(tol > 0) || !Double.isFinite(tol)) {
      v.add("linear.tolerance", "is " + lo.getTolerance() + "; use a finite value >= 0 (0 means 1e-8)");
    }
    MlpFitOptions mo = r.getMlp();
    double lr = mo.getLearningRate() == 0 ? dev.activerm.server.core.model.MlpFitOptions.DEFAULT_LEARNING_RATE : mo.getLearningRate();
    int epochs = mo.getEpochs() == 0 ? dev.activerm.server.core.model.MlpFitOptions.DEFAULT_EPOCHS : mo.getEpochs();
    int batch = mo.getBatchSize() == 0 ? dev.activerm.server.core.model.MlpFitOptions.DEFAULT_BATCH_SIZE : mo.getBatchSize();
    int patience = mo.getPatience() == 0 ? dev.activerm.server.core.model.MlpFitOptions.DEFAULT_PATIENCE : mo.getPatience();
    if (!(lr > 0) || !Double.isFinite(lr)) {
      v.add("mlp.learning_rate", "is " + mo.getLearningRate() + "; use a finite value > 0 (0 means 1e-3)");
    }
    if (epochs < 1 || epochs > 100_000) {
      v.add("mlp.epochs", "is " + mo.getEpochs() + "; use 0..100000 (0 means 10)");
    }
    if (batch < 1 || batch > 1_000_000) {
      v.add("mlp.batch_size", "is " + mo.getBatchSize() + "; use 0..1000000 (0 means 256)");
    }
    if (!(mo.getWeightDecay() >= 0) || !Double.isFinite(mo.getWeightDecay())) {
      v.add("mlp.weight_decay", "is " + mo.getWeightDecay() + "; use a finite value >= 0");
    }
    if (!(mo.getValidationFraction() >= 0 && mo.getValidationFraction() < 0.5)) {
      v.add("mlp.validation_fraction", "is " + mo.getValidationFraction() + "; use 0 <= f < 0.5 (0 means no held-out set)");
    }
    if (patience < 1) {
      v.add("mlp.patience", "is " + mo.getPatience() + "; use a value >= 0 (0 means 3)");
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid Fit request:");
    return new FitSettings(
        r.getWarmStart(),
        r.getSeed(),
        new dev.activerm.server.core.model.LinearFitOptions(maxIter, tol),
        new dev.activerm.server.core.model.MlpFitOptions(
            lr, epochs, batch, mo.getWeightDecay(), mo.getValidationFraction(), patience));
  }

  static Model model(FittedModel m) {
    dev.activerm.server.core.model.FitReport r = m.report();
    return Model.newBuilder()
        .setVersion(m.version())
        .setHeadType(m.headType() == dev.activerm.server.core.HeadType.MLP ? HeadType.HEAD_TYPE_MLP : HeadType.HEAD_TYPE_LINEAR)
        .setReport(FitReport.newBuilder()
            .setLoss(r.loss())
            .setIterations(r.iterations())
            .setGradientNorm(r.gradientNorm())
            .setConverged(r.converged())
            .setTrainAccuracy(r.trainAccuracy())
            .setValidationAccuracy(r.validationAccuracy())
            .setWallTime(Duration.newBuilder()
                .setSeconds(r.wallNanos() / 1_000_000_000L)
                .setNanos((int) (r.wallNanos() % 1_000_000_000L)))
            .setNumComparisons(r.numComparisons()))
        .setCreateTime(ProtoMapper.timestamp(m.createTime()))
        .build();
  }
}
