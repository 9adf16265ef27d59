package dev.activerm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import com.google.protobuf.UnsafeByteOperations;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.FitReport;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Model;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.PairScore;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.proto.v1.Project;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Proto <-> client types. */
final class Mapper {
  private Mapper() {}

  static ProjectInfo project(Project p) {
    return new ProjectInfo(
        p.getProjectId(),
        p.getEmbeddingDim(),
        p.getHead().getType() == HeadType.HEAD_TYPE_MLP ? Head.MLP : Head.LINEAR,
        List.copyOf(p.getHead().getHiddenSizesList()),
        p.getL2(),
        instant(p.getCreateTime()),
        p.getNumResponses(),
        p.getNumComparisons(),
        p.getNumPrompts(),
        p.getLatestModelVersion(),
        p.getNumPendingPairs(),
        duration(p.getPendingTtl()));
  }

  static HeadType head(Head h) {
    return h == Head.MLP ? HeadType.HEAD_TYPE_MLP : HeadType.HEAD_TYPE_LINEAR;
  }

  static dev.activerm.proto.v1.Outcome outcome(Outcome o) {
    return switch (o) {
      case A -> dev.activerm.proto.v1.Outcome.OUTCOME_A;
      case B -> dev.activerm.proto.v1.Outcome.OUTCOME_B;
      case TIE -> dev.activerm.proto.v1.Outcome.OUTCOME_TIE;
    };
  }

  static Comparison comparison(dev.activerm.proto.v1.Comparison c) {
    Outcome o = switch (c.getOutcome()) {
      case OUTCOME_A -> Outcome.A;
      case OUTCOME_B -> Outcome.B;
      default -> Outcome.TIE;
    };
    return new Comparison(c.getAId(), c.getBId(), o, c.getAnnotatorId(), c.getWeight(), instant(c.getCreateTime()),
        c.getComparisonId());
  }

  static dev.activerm.proto.v1.Strategy strategy(Strategy s) {
    return s == null
        ? dev.activerm.proto.v1.Strategy.STRATEGY_UNSPECIFIED
        : dev.activerm.proto.v1.Strategy.valueOf("STRATEGY_" + s.name());
  }

  static Strategy strategy(dev.activerm.proto.v1.Strategy s) {
    String name = s.name();
    return name.startsWith("STRATEGY_") && s != dev.activerm.proto.v1.Strategy.STRATEGY_UNSPECIFIED
            && s != dev.activerm.proto.v1.Strategy.UNRECOGNIZED
        ? Strategy.valueOf(name.substring("STRATEGY_".length()))
        : Strategy.GREEDY_DOPT;
  }

  static Model model(dev.activerm.proto.v1.Model m) {
    dev.activerm.proto.v1.FitReport r = m.getReport();
    return new Model(
        m.getVersion(),
        m.getHeadType() == HeadType.HEAD_TYPE_MLP ? Head.MLP : Head.LINEAR,
        new FitReport(r.getLoss(), r.getIterations(), r.getGradientNorm(), r.getConverged(), r.getTrainAccuracy(),
            r.getValidationAccuracy(), duration(r.getWallTime()), r.getNumComparisons()),
        instant(m.getCreateTime()));
  }

  static List<PairScore> pairScores(List<dev.activerm.proto.v1.PairScore> in) {
    List<PairScore> out = new ArrayList<>(in.size());
    for (dev.activerm.proto.v1.PairScore p : in) {
      out.add(new PairScore(p.getAId(), p.getBId(), p.getProbability(), p.getRewardDiffStddev()));
    }
    return out;
  }

  static Selection selection(dev.activerm.proto.v1.Selection s) {
    List<ScoredPair> pairs = new ArrayList<>(s.getPairsCount());
    for (dev.activerm.proto.v1.ScoredPair p : s.getPairsList()) {
      PairState state = switch (p.getState()) {
        case PAIR_STATE_PENDING -> PairState.PENDING;
        case PAIR_STATE_LABELED -> PairState.LABELED;
        case PAIR_STATE_RELEASED -> PairState.RELEASED;
        default -> PairState.UNSPECIFIED;
      };
      pairs.add(new ScoredPair(p.getAId(), p.getBId(), p.getScore(), state));
    }
    return new Selection(
        s.getSelectionId(), s.getModelVersion(), strategy(s.getStrategy()), s.getSeed(), s.getBatchSize(),
        s.getNumCandidates(), pairs, instant(s.getCreateTime()), duration(s.getWallTime()), s.getNumLabeled(),
        s.getNumPending(), s.getNumReleased(), duration(s.getPendingTtl()), s.getComputedOn(),
        s.hasInformation() ? new Types.BatchInformation(s.getInformation().getLogDetGain(),
            s.getInformation().getGainPerLabel(), s.getInformation().getRelativeGainPerLabel(),
            s.getInformation().getReferenceSelectionId()) : null);
  }

  static Types.SelectionState selectionState(dev.activerm.proto.v1.ExportSelectionStateResponse r) {
    List<Types.Pair> labeled = new ArrayList<>(r.getLabeledPairsCount());
    r.getLabeledPairsList().forEach(p -> labeled.add(new Types.Pair(p.getAId(), p.getBId())));
    List<Types.Pair> pending = new ArrayList<>(r.getPendingPairsCount());
    r.getPendingPairsList().forEach(p -> pending.add(new Types.Pair(p.getAId(), p.getBId())));
    Types.Head head = r.getHead().getType() == dev.activerm.proto.v1.HeadType.HEAD_TYPE_MLP
        ? Types.Head.MLP : Types.Head.LINEAR;
    return new Types.SelectionState(r.getModelVersion(), head, r.getEmbeddingDim(), r.getL2(),
        r.getLayerSizesList().stream().mapToInt(Integer::intValue).toArray(), r.getParameters().toByteArray(),
        r.getFeatureDim(), float64(r.getInformation()), float64(r.getInformationFactor()), List.copyOf(labeled),
        List.copyOf(pending), List.copyOf(r.getRetiredResponseIdsList()));
  }

  /** A Float64Matrix's values, checked for length rows * cols * 8. */
  static double[] float64(dev.activerm.proto.v1.Float64Matrix m) {
    long n = (long) m.getRows() * m.getCols();
    if (m.getData().size() != n * Double.BYTES) {
      throw new IllegalStateException("server sent a " + m.getRows() + " x " + m.getCols() + " float64 matrix with "
          + m.getData().size() + " bytes");
    }
    double[] out = new double[(int) n];
    m.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
    return out;
  }

  /** rows x dim floats, little-endian, row-major. */
  static Matrix matrix(float[][] rows, int from, int to, int dim) {
    ByteBuffer buffer = ByteBuffer.allocate((to - from) * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    FloatBuffer floats = buffer.asFloatBuffer();
    for (int r = from; r < to; r++) {
      floats.put(rows[r]);
    }
    return matrix(buffer.array(), to - from, dim);
  }

  static Matrix matrix(float[] flat, int from, int to, int dim) {
    ByteBuffer buffer = ByteBuffer.allocate((to - from) * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(flat, from * dim, (to - from) * dim);
    return matrix(buffer.array(), to - from, dim);
  }

  private static Matrix matrix(byte[] bytes, int rows, int dim) {
    ByteString data = UnsafeByteOperations.unsafeWrap(bytes);
    return Matrix.newBuilder().setRows(rows).setCols(dim).setData(data).build();
  }

  static float[][] rows(Matrix m) {
    if (m.getData().size() != (long) m.getRows() * m.getCols() * Float.BYTES) {
      throw new IllegalStateException("server sent a malformed matrix: " + m.getRows() + " x " + m.getCols()
          + " with " + m.getData().size() + " bytes");
    }
    FloatBuffer floats = m.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[][] out = new float[m.getRows()][m.getCols()];
    for (float[] row : out) {
      floats.get(row);
    }
    return out;
  }

  static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  /** java.time.Duration as a protobuf Duration. */
  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  static Duration duration(com.google.protobuf.Duration d) {
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }
}
