package dev.activerm.server.api;

import com.google.protobuf.Timestamp;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.Project;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.core.project.ComparisonInput;
import dev.activerm.server.core.project.ProjectInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Proto messages <-> domain types. No logic beyond naming and defaults of unset enums. */
final class ProtoMapper {
  private ProtoMapper() {}

  static HeadSpec head(HeadConfig config) {
    HeadType type = switch (config.getType()) {
      case HEAD_TYPE_UNSPECIFIED, HEAD_TYPE_LINEAR -> HeadType.LINEAR;
      case HEAD_TYPE_MLP -> HeadType.MLP;
      default -> throw ActiveRmException.invalid(
          "head.type " + config.getTypeValue() + " is unknown; use HEAD_TYPE_LINEAR or HEAD_TYPE_MLP",
          new FieldViolation("head.type", "unknown value " + config.getTypeValue()));
    };
    return HeadSpec.of(type, config.getHiddenSizesList().stream().mapToInt(Integer::intValue).toArray());
  }

  static HeadConfig headConfig(HeadSpec spec) {
    HeadConfig.Builder head = HeadConfig.newBuilder()
        .setType(spec.type() == HeadType.MLP
            ? dev.activerm.proto.v1.HeadType.HEAD_TYPE_MLP
            : dev.activerm.proto.v1.HeadType.HEAD_TYPE_LINEAR);
    for (int size : spec.hiddenSizes()) {
      head.addHiddenSizes(size);
    }
    return head.build();
  }

  static Project project(ProjectInfo info) {
    HeadConfig head = headConfig(info.spec().head());
    return Project.newBuilder()
        .setProjectId(info.spec().id())
        .setEmbeddingDim(info.spec().embeddingDim())
        .setHead(head)
        .setL2(info.spec().l2())
        .setCreateTime(timestamp(info.spec().createTime()))
        .setNumResponses(info.numResponses())
        .setNumComparisons(info.numComparisons())
        .setNumPrompts(info.numPrompts())
        .setLatestModelVersion(info.latestModelVersion())
        .setNumPendingPairs(info.numPendingPairs())
        .setPendingTtl(duration(java.time.Duration.ofMillis(info.spec().pendingTtlMillis())))
        .setNumRetiredResponses(info.numRetiredResponses())
        .build();
  }

  static List<ComparisonInput> comparisons(List<Comparison> in) {
    List<ComparisonInput> out = new ArrayList<>(in.size());
    for (int i = 0; i < in.size(); i++) {
      Comparison c = in.get(i);
      out.add(new ComparisonInput(
          c.getAId(), c.getBId(), outcome(c, i), c.getAnnotatorId(), c.getWeight(), c.getComparisonId()));
    }
    return out;
  }

  /** null when unset (the domain reports it with the other problems of the call). */
  private static dev.activerm.server.core.project.Outcome outcome(Comparison c, int index) {
    return switch (c.getOutcome()) {
      case OUTCOME_A -> dev.activerm.server.core.project.Outcome.A;
      case OUTCOME_B -> dev.activerm.server.core.project.Outcome.B;
      case OUTCOME_TIE -> dev.activerm.server.core.project.Outcome.TIE;
      case OUTCOME_UNSPECIFIED -> null;
      default -> throw ActiveRmException.invalid(
          "comparisons[" + index + "].outcome " + c.getOutcomeValue() + " is unknown; use OUTCOME_A, OUTCOME_B or OUTCOME_TIE",
          new FieldViolation("comparisons[" + index + "].outcome", "unknown value " + c.getOutcomeValue()));
    };
  }

  static Comparison comparison(dev.activerm.server.core.project.Comparison c) {
    return Comparison.newBuilder()
        .setAId(c.aId())
        .setBId(c.bId())
        .setOutcome(switch (c.outcome()) {
          case A -> Outcome.OUTCOME_A;
          case B -> Outcome.OUTCOME_B;
          case TIE -> Outcome.OUTCOME_TIE;
        })
        .setAnnotatorId(c.annotatorId())
        .setWeight(c.weight())
        .setCreateTime(timestamp(c.createTime()))
        .setComparisonId(c.id())
        .build();
  }

  /**
   * A pending TTL in ms: 0 when unset, rounded up to whole ms, -1 when negative or malformed
   * (the domain rejects it with a field violation).
   */
  static long ttlMillis(com.google.protobuf.Duration d) {
    if (d.getSeconds() < 0 || d.getNanos() < 0 || d.getNanos() > 999_999_999) {
      return -1;
    }
    if (d.getSeconds() > Long.MAX_VALUE / 1000 - 1) {
      return Long.MAX_VALUE;
    }
    return d.getSeconds() * 1000 + (d.getNanos() + 999_999) / 1_000_000;
  }

  static com.google.protobuf.Duration duration(java.time.Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
