package dev.activerm.server.api;

import com.google.protobuf.ByteString;
import dev.activerm.proto.v1.ExportSelectionStateRequest;
import dev.activerm.proto.v1.ExportSelectionStateResponse;
import dev.activerm.proto.v1.Float64Matrix;
import dev.activerm.proto.v1.RegisterSelectionRequest;
import dev.activerm.proto.v1.RegisterSelectionResponse;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ResponseRows;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.server.core.selection.CandidateSource;
import dev.activerm.server.core.selection.ExportedState;
import dev.activerm.server.core.selection.RegisterRequest;
import dev.activerm.server.core.selection.Registrations;
import dev.activerm.server.core.selection.StateExport;
import dev.activerm.server.core.strategy.StrategyParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** ExportSelectionState / RegisterSelection (selections computed off the server, e.g. on Spark): proto <-> domain. */
final class OffServerRpcMapper {
  private final StateExport exports;
  private final Registrations registrations;

  OffServerRpcMapper(StateExport exports, Registrations registrations) {
    this.exports = exports;
    this.registrations = registrations;
  }

  ExportSelectionStateResponse export(ExportSelectionStateRequest r) {
    ExportedState e = exports.export(r.getProjectId());
    ExportSelectionStateResponse.Builder b = ExportSelectionStateResponse.newBuilder()
        .setModelVersion(e.modelVersion())
        .setHead(ProtoMapper.headConfig(e.head()))
        .setEmbeddingDim(e.embeddingDim())
        .setL2(e.lambda())
        .setParameters(ByteString.copyFrom(e.parameters()))
        .setFeatureDim(e.featureDim())
        .setInformation(float64(e.information(), e.featureDim()))
        .setInformationFactor(float64(e.factor(), e.featureDim()))
        .addAllRetiredResponseIds(e.retired());
    for (int size : e.layerSizes()) {
      b.addLayerSizes(size);
    }
    for (int i = 0; i < e.labeledA().size(); i++) {
      b.addLabeledPairs(ResponsePair.newBuilder().setAId(e.labeledA().get(i)).setBId(e.labeledB().get(i)));
    }
    for (int i = 0; i < e.pendingA().size(); i++) {
      b.addPendingPairs(ResponsePair.newBuilder().setAId(e.pendingA().get(i)).setBId(e.pendingB().get(i)));
    }
    return b.build();
  }

  RegisterSelectionResponse register(RegisterSelectionRequest r) {
    int n = r.getPairsCount();
    List<String> a = new ArrayList<>(n);
    List<String> b = new ArrayList<>(n);
    double[] scores = new double[n];
    for (int i = 0; i < n; i++) {
      ScoredPair p = r.getPairs(i);
      a.add(p.getAId());
      b.add(p.getBId());
      scores[i] = p.getScore();
    }
    CandidateSource source = switch (r.getCandidateSource()) {
      case CANDIDATE_SOURCE_EXPLICIT_PAIRS -> CandidateSource.EXPLICIT;
      case CANDIDATE_SOURCE_WITHIN_PROMPT -> CandidateSource.WITHIN_PROMPT;
      default -> CandidateSource.CROSS_PROMPT;
    };
    RegisterRequest req = new RegisterRequest(r.getProjectId(), SelectionRpcMapper.strategy(r.getStrategy()),
        r.getModelVersion(), a, b, scores, r.getSeed(), r.getNumCandidates(), source, r.getMaxCandidates(),
        ProtoMapper.ttlMillis(r.getPendingTtl()), r.getComputedOn(),
        new StrategyParams(r.getParams().getRidge(), 0, 0, 0, 0, 0), rows(r));
    return RegisterSelectionResponse.newBuilder()
        .setSelection(SelectionRpcMapper.selection(registrations.register(req)))
        .build();
  }

  /** new_responses in domain terms; absent: none. */
  private static RegisterRequest.Rows rows(RegisterSelectionRequest r) {
    if (!r.hasNewResponses()) {
      return RegisterRequest.Rows.NONE;
    }
    ResponseRows rows = r.getNewResponses();
    float[] values = MatrixCodec.decode(rows.getEmbeddings(), "new_responses.embeddings");
    return new RegisterRequest.Rows(rows.getResponseIdsList(), rows.getPromptIdsList(), rows.getEmbeddings().getRows(),
        rows.getEmbeddings().getCols(), values);
  }

  private static Float64Matrix float64(double[] values, int h) {
    ByteBuffer buf = ByteBuffer.allocate(values.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asDoubleBuffer().put(values);
    return Float64Matrix.newBuilder().setRows(h).setCols(h).setData(ByteString.copyFrom(buf.array())).build();
  }
}
