package dev.activerm.server.api;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CreateProjectResponse;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.DeleteProjectResponse;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetPoolUncertaintyResponse;
import dev.activerm.proto.v1.GetPoolUncertaintyRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetProjectResponse;
import dev.activerm.proto.v1.ExportSelectionStateRequest;
import dev.activerm.proto.v1.ExportSelectionStateResponse;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.RegisterSelectionRequest;
import dev.activerm.proto.v1.RegisterSelectionResponse;
import dev.activerm.proto.v1.GetSelectionResponse;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListComparisonsResponse;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.ListProjectsResponse;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.DeleteComparisonsRequest;
import dev.activerm.proto.v1.DeleteComparisonsResponse;
import dev.activerm.proto.v1.RetireResponsesRequest;
import dev.activerm.proto.v1.RetireResponsesResponse;
import dev.activerm.proto.v1.ListSelectionsRequest;
import dev.activerm.proto.v1.ListSelectionsResponse;
import dev.activerm.proto.v1.ReleasePairsRequest;
import dev.activerm.proto.v1.ReleasePairsResponse;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoreResponse;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.SelectBatchResponse;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.core.ActiveRmCore;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;

/** The gRPC face of {@link ActiveRmCore}: map the request, call the domain, map the answer. */
public final class ActiveRmGrpcService extends ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceImplBase {
  private final ActiveRmCore core;
  private final ProjectRpcMapper mapper;
  private final FitRpcMapper fitMapper;
  private final SelectionRpcMapper selections;
  private final OffServerRpcMapper offServer;
  private final Executor uploads;

  /** For tests: uploads that waited for their project's slot carry on on the common pool. */
  public ActiveRmGrpcService(ActiveRmCore core, DomainMetrics metrics) {
    this(core, metrics, ForkJoinPool.commonPool());
  }

  /**
   * metrics records fit and selection durations ({@link DomainMetrics#detached()} for none);
   * uploads runs an AddResponses call that waited for its project's upload slot once it has it
   * (the server's gRPC executor).
   */
  public ActiveRmGrpcService(ActiveRmCore core, DomainMetrics metrics, Executor uploads) {
    this.core = core;
    this.uploads = uploads;
    this.mapper = new ProjectRpcMapper(core);
    this.fitMapper = new FitRpcMapper(core.fitting(), core.scoring(), metrics);
    this.selections = new SelectionRpcMapper(core.selections(), metrics);
    this.offServer = new OffServerRpcMapper(core.exports(), core.registrations());
  }

  @Override
  public void createProject(CreateProjectRequest request, StreamObserver<CreateProjectResponse> out) {
    unary("CreateProject", out, () -> mapper.createProject(request));
  }

  @Override
  public void getProject(GetProjectRequest request, StreamObserver<GetProjectResponse> out) {
    unary("GetProject", out, () -> mapper.getProject(request));
  }

  @Override
  public void listProjects(ListProjectsRequest request, StreamObserver<ListProjectsResponse> out) {
    unary("ListProjects", out, () -> mapper.listProjects(request));
  }

  @Override
  public void deleteProject(DeleteProjectRequest request, StreamObserver<DeleteProjectResponse> out) {
    unary("DeleteProject", out, () -> mapper.deleteProject(request));
  }

  @Override
  public StreamObserver<AddResponsesRequest> addResponses(StreamObserver<AddResponsesResponse> out) {
    return new AddResponsesCall(core.responses(), out, uploads);
  }

  @Override
  public void listResponses(ListResponsesRequest request, StreamObserver<ListResponsesResponse> out) {
    unary("ListResponses", out, () -> mapper.listResponses(request));
  }

  @Override
  public void addComparisons(AddComparisonsRequest request, StreamObserver<AddComparisonsResponse> out) {
    unary("AddComparisons", out, () -> mapper.addComparisons(request));
  }

  @Override
  public void listComparisons(ListComparisonsRequest request, StreamObserver<ListComparisonsResponse> out) {
    unary("ListComparisons", out, () -> mapper.listComparisons(request));
  }

  @Override
  public void deleteComparisons(DeleteComparisonsRequest request, StreamObserver<DeleteComparisonsResponse> out) {
    unary("DeleteComparisons", out, () -> mapper.deleteComparisons(request));
  }

  @Override
  public void retireResponses(RetireResponsesRequest request, StreamObserver<RetireResponsesResponse> out) {
    unary("RetireResponses", out, () -> mapper.retireResponses(request));
  }

  @Override
  public void fit(FitRequest request, StreamObserver<FitResponse> out) {
    unary("Fit", out, () -> fitMapper.fit(request));
  }

  @Override
  public void score(ScoreRequest request, StreamObserver<ScoreResponse> out) {
    unary("Score", out, () -> fitMapper.score(request));
  }

  @Override
  public void getPoolUncertainty(GetPoolUncertaintyRequest request,
      StreamObserver<GetPoolUncertaintyResponse> out) {
    unary("GetPoolUncertainty", out, () -> fitMapper.poolUncertainty(request));
  }

  @Override
  public void selectBatch(SelectBatchRequest request, StreamObserver<SelectBatchResponse> out) {
    unary("SelectBatch", out, () -> selections.selectBatch(request));
  }

  @Override
  public void getSelection(GetSelectionRequest request, StreamObserver<GetSelectionResponse> out) {
    unary("GetSelection", out, () -> selections.getSelection(request));
  }

  @Override
  public void listSelections(ListSelectionsRequest request, StreamObserver<ListSelectionsResponse> out) {
    unary("ListSelections", out, () -> selections.listSelections(request));
  }

  @Override
  public void releasePairs(ReleasePairsRequest request, StreamObserver<ReleasePairsResponse> out) {
    unary("ReleasePairs", out, () -> selections.releasePairs(request));
  }

  @Override
  public void exportSelectionState(ExportSelectionStateRequest request,
      StreamObserver<ExportSelectionStateResponse> out) {
    unary("ExportSelectionState", out, () -> offServer.export(request));
  }

  @Override
  public void registerSelection(RegisterSelectionRequest request, StreamObserver<RegisterSelectionResponse> out) {
    unary("RegisterSelection", out, () -> offServer.register(request));
  }

  private static <T> void unary(String method, StreamObserver<T> out, Supplier<T> call) {
    T response;
    try {
      response = call.get();
    } catch (RuntimeException | OutOfMemoryError e) {
      out.onError(ErrorMapper.toStatus(method, e));
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }
}
