package dev.activerm.server.api;

import com.google.protobuf.Duration;
import dev.activerm.proto.v1.FitReport;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetPoolUncertaintyResponse;
import dev.activerm.proto.v1.GetPoolUncertaintyRequest;
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
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.fit.FitSettings;
import dev.activerm.server.core.fit.Fitting;
import dev.activerm.server.core.fit.ScoreQuery;
import dev.activerm.server.core.fit.ScoreResult;
import dev.activerm.server.core.fit.PoolUncertainty;
import dev.activerm.server.core.fit.Scoring;
import dev.activerm.server.core.model.FittedModel;
import io.grpc.Context;
import java.util.ArrayList;
import java.util.List;

/** Request -> domain call -> response, for Fit and Score. Unset options take their documented defaults. */
final class FitRpcMapper {
  private final Fitting fitting;
  private final Scoring scoring;
  private final DomainMetrics metrics;

  FitRpcMapper(Fitting fitting, Scoring scoring, DomainMetrics metrics) {
    this.fitting = fitting;
    this.scoring = scoring;
    this.metrics = metrics;
  }

  /** Fits; the call's deadline or cancellation stops the training (nothing stored). */
  FitResponse fit(FitRequest r) {
    FittedModel m = fitting.fit(r.getProjectId(), settings(r), Context.current()::isCancelled);
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
    ScoreResult result = scoring.score(
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

  GetPoolUncertaintyResponse poolUncertainty(GetPoolUncertaintyRequest r) {
    PoolUncertainty u =
        scoring.poolUncertainty(r.getProjectId(), r.getModelVersion(), r.getNumPairs(), r.getSeed());
    return GetPoolUncertaintyResponse.newBuilder()
        .setModelVersion(u.modelVersion())
        .setNumPairs(u.numPairs())
        .setMeanVariance(u.meanVariance())
        .setMedianVariance(u.medianVariance())
        .setP90Variance(u.p90Variance())
        .setMaxVariance(u.maxVariance())
        .setMeanBernoulliVariance(u.meanBernoulliVariance())
        .build();
  }

  static FitSettings settings(FitRequest r) {
    Violations v = new Violations();
    LinearFitOptions lo = r.getLinear();
    MlpFitOptions mo = r.getMlp();
    var linear = dev.activerm.server.core.model.LinearFitOptions.fromRequest(
        lo.getMaxIterations(), lo.getTolerance(), "linear.", v);
    var mlp = dev.activerm.server.core.model.MlpFitOptions.fromRequest(mo.getLearningRate(), mo.getEpochs(),
        mo.getUntilConverged(), mo.getBatchSize(), mo.getWeightDecay(), mo.getValidationFraction(), mo.getPatience(), "mlp.", v);
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid Fit request:");
    return new FitSettings(r.getWarmStart(), r.getSeed(), linear, mlp);
  }

  static Model model(FittedModel m) {
    dev.activerm.server.core.model.FitReport r = m.report();
    return Model.newBuilder()
        .setVersion(m.version())
        .setHeadType(m.headType() == dev.activerm.server.core.model.HeadType.MLP ? HeadType.HEAD_TYPE_MLP : HeadType.HEAD_TYPE_LINEAR)
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
