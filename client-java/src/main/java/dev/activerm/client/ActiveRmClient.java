package dev.activerm.client;

import dev.activerm.client.Types.AddComparisonsResult;
import dev.activerm.client.Types.AddResult;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.DeleteComparisonsResult;
import dev.activerm.client.Types.ReleasePairsResult;
import dev.activerm.client.Types.RetireResponsesResult;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Model;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.Responses;
import dev.activerm.client.Types.Scores;
import dev.activerm.client.Types.Selection;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.ExplicitPairs;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.LinearFitOptions;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListComparisonsResponse;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.ListProjectsResponse;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ResponsePair;
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
import dev.activerm.proto.v1.WithinPrompt;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Path;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * A thin, typed client for activerm. Every call has a deadline (default 60 s; uploads get
 * their own, default 30 min), and every failure is an {@link ActiveRmException} that
 * keeps the gRPC code, the server's message and the offending fields.
 *
 * <pre>{@code
 * try (ActiveRmClient client = ActiveRmClient.connect("localhost:50051")) {
 *   client.createProject("hh-helpful", 2048, Head.LINEAR, 1.0);
 *   client.addResponses("hh-helpful", ids, promptIds, embeddings);
 * }
 * }</pre>
 */
public final class ActiveRmClient implements AutoCloseable {
  /** Default size of one AddResponses chunk: big enough to amortise framing, well under the 64 MiB limit. */
  public static final int DEFAULT_CHUNK_BYTES = 8 << 20;

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub blocking;
  private final ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub async;
  private final Duration deadline;
  private final Duration uploadDeadline;
  private final int chunkBytes;

  private ActiveRmClient(Builder b) {
    this.channel = b.channel != null ? b.channel : newChannel(b);
    this.ownsChannel = b.channel == null;
    Channel calls = channel;
    if (b.apiKey != null) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + b.apiKey);
      calls = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.blocking = ActiveRewardModelingServiceGrpc.newBlockingStub(calls);
    this.async = ActiveRewardModelingServiceGrpc.newStub(calls);
    this.deadline = b.deadline;
    this.uploadDeadline = b.uploadDeadline;
    this.chunkBytes = b.chunkBytes;
  }

  private static ManagedChannel newChannel(Builder b) {
    NettyChannelBuilder builder;
    if (b.tlsTrust != null || b.tls) {
      TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
      if (b.tlsTrust != null) {
        try {
          tls.trustManager(b.tlsTrust.toFile());
        } catch (IOException e) {
          throw new IllegalArgumentException("cannot read the CA certificate " + b.tlsTrust + ": " + e.getMessage(), e);
        }
      }
      builder = NettyChannelBuilder.forTarget(b.target, tls.build());
    } else {
      builder = NettyChannelBuilder.forTarget(b.target).usePlaintext();
    }
    return builder.maxInboundMessageSize(b.maxMessageBytes).build();
  }

  /** A plaintext client for host:port with the defaults. */
  public static ActiveRmClient connect(String target) {
    return builder().target(target).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Client settings; every one has a default. */
  public static final class Builder {
    private String target = "localhost:50051";
    private ManagedChannel channel;
    private Duration deadline = Duration.ofSeconds(60);
    private Duration uploadDeadline = Duration.ofMinutes(30);
    private int chunkBytes = DEFAULT_CHUNK_BYTES;
    private int maxMessageBytes = 64 << 20;
    private String apiKey;
    private Path tlsTrust;
    private boolean tls;

    /** Sends 'authorization: Bearer KEY' with every call (servers started with --api-keys-file). */
    public Builder apiKey(String key) {
      this.apiKey = key;
      return this;
    }

    /** TLS, trusting the system's CAs. */
    public Builder useTls() {
      this.tls = true;
      return this;
    }

    /** TLS, trusting the CA (or self-signed server) certificate in this PEM file. */
    public Builder tlsTrust(Path caCertificate) {
      this.tlsTrust = caCertificate;
      return this;
    }

    public Builder target(String hostPort) {
      this.target = hostPort;
      return this;
    }

    /** Use this channel (e.g. in-process, or with TLS); the client will not close it. */
    public Builder channel(ManagedChannel existing) {
      this.channel = existing;
      return this;
    }

    public Builder deadline(Duration perCall) {
      this.deadline = perCall;
      return this;
    }

    public Builder uploadDeadline(Duration perUpload) {
      this.uploadDeadline = perUpload;
      return this;
    }

    /** Bytes of embeddings per AddResponses chunk; must stay under the server's --max-message-mib. */
    public Builder chunkBytes(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("chunkBytes must be at least 1024, got " + bytes);
      }
      this.chunkBytes = bytes;
      return this;
    }

    public Builder maxMessageBytes(int bytes) {
      this.maxMessageBytes = bytes;
      return this;
    }

    public ActiveRmClient build() {
      return new ActiveRmClient(this);
    }
  }

  // ---- projects ----

  public ProjectInfo createProject(String projectId, int embeddingDim, Head head, double l2) {
    return createProject(projectId, embeddingDim, head, List.of(), l2);
  }

  /** hiddenSizes: MLP widths (empty: the server default 3 x 512); must be empty for LINEAR. */
  public ProjectInfo createProject(String projectId, int embeddingDim, Head head, List<Integer> hiddenSizes, double l2) {
    return createProject(projectId, embeddingDim, head, hiddenSizes, l2, null);
  }

  /**
   * As above, with the default pending TTL of the project's selections (null: none, pairs stay
   * pending until labeled or released).
   */
  public ProjectInfo createProject(
      String projectId, int embeddingDim, Head head, List<Integer> hiddenSizes, double l2, Duration pendingTtl) {
    CreateProjectRequest.Builder builder = CreateProjectRequest.newBuilder()
        .setProjectId(projectId)
        .setEmbeddingDim(embeddingDim)
        .setHead(HeadConfig.newBuilder().setType(Mapper.head(head)).addAllHiddenSizes(hiddenSizes))
        .setL2(l2);
    if (pendingTtl != null) {
      builder.setPendingTtl(Mapper.duration(pendingTtl));
    }
    CreateProjectRequest request = builder.build();
    return Mapper.project(call(() -> stub().createProject(request)).getProject());
  }

  public ProjectInfo getProject(String projectId) {
    return Mapper.project(call(() -> stub().getProject(
        GetProjectRequest.newBuilder().setProjectId(projectId).build())).getProject());
  }

  /** Every project, following pages. */
  public List<ProjectInfo> listProjects() {
    List<ProjectInfo> out = new ArrayList<>();
    String token = "";
    do {
      ListProjectsRequest request = ListProjectsRequest.newBuilder().setPageToken(token).build();
      ListProjectsResponse page = call(() -> stub().listProjects(request));
      page.getProjectsList().forEach(p -> out.add(Mapper.project(p)));
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return out;
  }

  public void deleteProject(String projectId) {
    call(() -> stub().deleteProject(DeleteProjectRequest.newBuilder().setProjectId(projectId).build()));
  }

  // ---- responses ----

  /** Uploads rows (one per id) in chunks of one streaming call: all are stored, or none. */
  public AddResult addResponses(String projectId, List<String> ids, List<String> promptIds, float[][] embeddings) {
    checkRows(ids, promptIds, embeddings.length);
    int dim = embeddings.length == 0 ? 0 : embeddings[0].length;
    for (int r = 0; r < embeddings.length; r++) {
      if (embeddings[r].length != dim) {
        throw new IllegalArgumentException(
            "embeddings[" + r + "] has length " + embeddings[r].length + " but row 0 has " + dim
                + "; every row must have the project's embedding_dim");
      }
    }
    return upload(projectId, ids, promptIds, dim, (from, to) -> Mapper.matrix(embeddings, from, to, dim));
  }

  /** Same, with the rows flattened row-major (ids.size() x dim). */
  public AddResult addResponses(String projectId, List<String> ids, List<String> promptIds, float[] flat, int dim) {
    checkRows(ids, promptIds, dim == 0 ? 0 : flat.length / dim);
    if (dim <= 0 || (long) ids.size() * dim != flat.length) {
      throw new IllegalArgumentException(
          "flat holds " + flat.length + " floats; " + ids.size() + " rows of dim " + dim + " need "
              + (long) ids.size() * dim);
    }
    return upload(projectId, ids, promptIds, dim, (from, to) -> Mapper.matrix(flat, from, to, dim));
  }

  /** The given responses, in order (embeddings only when asked for). */
  public Responses getResponses(String projectId, List<String> ids, boolean withEmbeddings) {
    ListResponsesRequest request = ListResponsesRequest.newBuilder()
        .setProjectId(projectId).addAllResponseIds(ids).setIncludeEmbeddings(withEmbeddings).build();
    ListResponsesResponse r = call(() -> stub().listResponses(request));
    return new Responses(r.getResponseIdsList(), r.getPromptIdsList(), withEmbeddings ? Mapper.rows(r.getEmbeddings()) : null);
  }

  /** Every response of a project in insertion order, ids and prompt ids only. */
  public Responses listResponses(String projectId) {
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    String token = "";
    do {
      ListResponsesRequest request = ListResponsesRequest.newBuilder()
          .setProjectId(projectId).setPageSize(100_000).setPageToken(token).build();
      ListResponsesResponse page = call(() -> stub().listResponses(request));
      ids.addAll(page.getResponseIdsList());
      prompts.addAll(page.getPromptIdsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return new Responses(ids, prompts, null);
  }

  // ---- comparisons ----

  public AddComparisonsResult addComparisons(String projectId, List<ComparisonInput> comparisons) {
    AddComparisonsRequest.Builder request = AddComparisonsRequest.newBuilder().setProjectId(projectId);
    for (ComparisonInput c : comparisons) {
      request.addComparisons(dev.activerm.proto.v1.Comparison.newBuilder()
          .setAId(c.aId())
          .setBId(c.bId())
          .setOutcome(Mapper.outcome(c.outcome()))
          .setAnnotatorId(c.annotatorId() == null ? "" : c.annotatorId())
          .setWeight(c.weight())
          .setComparisonId(c.comparisonId() == null ? "" : c.comparisonId()));
    }
    AddComparisonsRequest built = request.build();
    AddComparisonsResponse r = call(() -> stub().addComparisons(built));
    return new AddComparisonsResult(r.getNumAdded(), r.getNumComparisons(), r.getNumPendingResolved(),
        List.copyOf(r.getComparisonIdsList()), r.getNumUnchanged(), r.getNumDeletedBefore());
  }

  /** Every comparison of a project in insertion order. */
  public List<Comparison> listComparisons(String projectId) {
    return listComparisons(projectId, "");
  }

  /** Every comparison of one annotator (empty: everyone's), in insertion order, with their ids. */
  public List<Comparison> listComparisons(String projectId, String annotatorId) {
    List<Comparison> out = new ArrayList<>();
    String token = "";
    do {
      ListComparisonsRequest request = ListComparisonsRequest.newBuilder()
          .setProjectId(projectId).setPageSize(100_000).setPageToken(token).setAnnotatorId(annotatorId).build();
      ListComparisonsResponse page = call(() -> stub().listComparisons(request));
      page.getComparisonsList().forEach(c -> out.add(Mapper.comparison(c)));
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return out;
  }

  /** Deletes comparisons by id, atomically (NOT_FOUND, nothing deleted, if one is unknown). */
  public DeleteComparisonsResult deleteComparisons(String projectId, List<String> ids) {
    return deleteComparisons(DeleteComparisonsRequest.newBuilder().setProjectId(projectId).addAllComparisonIds(ids)
        .build());
  }

  /** Deletes every comparison of one annotator, atomically. */
  public DeleteComparisonsResult deleteAnnotatorComparisons(String projectId, String annotatorId) {
    return deleteComparisons(DeleteComparisonsRequest.newBuilder().setProjectId(projectId).setAnnotatorId(annotatorId)
        .build());
  }

  private DeleteComparisonsResult deleteComparisons(DeleteComparisonsRequest request) {
    DeleteComparisonsResponse r = call(() -> stub().deleteComparisons(request));
    return new DeleteComparisonsResult(r.getNumDeleted(), r.getNumAlreadyDeleted(), r.getNumComparisons());
  }

  /** Retires responses: never candidates again, labels and scores kept. */
  public RetireResponsesResult retireResponses(String projectId, List<String> ids) {
    RetireResponsesRequest request =
        RetireResponsesRequest.newBuilder().setProjectId(projectId).addAllResponseIds(ids).build();
    RetireResponsesResponse r = call(() -> stub().retireResponses(request));
    return new RetireResponsesResult(r.getNumRetired(), r.getNumAlreadyRetired());
  }

  // ---- models ----

  public Model fit(String projectId, FitOptions o) {
    FitRequest request = FitRequest.newBuilder()
        .setProjectId(projectId)
        .setWarmStart(o.warmStart())
        .setSeed(o.seed())
        .setLinear(LinearFitOptions.newBuilder().setMaxIterations(o.maxIterations()).setTolerance(o.tolerance()))
        .setMlp(MlpFitOptions.newBuilder()
            .setLearningRate(o.learningRate())
            .setEpochs(o.epochs())
            .setBatchSize(o.batchSize())
            .setWeightDecay(o.weightDecay())
            .setValidationFraction(o.validationFraction())
            .setPatience(o.patience())
            .setUntilConverged(o.untilConverged()))
        .build();
    return Mapper.model(call(() -> stub().fit(request)).getModel());
  }

  /** Rewards of stored responses (modelVersion 0: latest), plus P(a beats b) for the given pairs. */
  public Scores score(String projectId, long modelVersion, List<String> ids, List<Pair> pairs) {
    ScoreRequest.Builder request = ScoreRequest.newBuilder().setProjectId(projectId).setModelVersion(modelVersion);
    if (!ids.isEmpty()) {
      request.setResponseIds(ResponseIds.newBuilder().addAllIds(ids));
    }
    pairs.forEach(p -> request.addPairs(ResponsePair.newBuilder().setAId(p.aId()).setBId(p.bId())));
    return scores(request.build());
  }

  /** Rewards of embeddings that are not stored (rows x the project's dim). */
  public Scores scoreEmbeddings(String projectId, long modelVersion, float[][] embeddings) {
    int dim = embeddings.length == 0 ? 0 : embeddings[0].length;
    Matrix m = Mapper.matrix(embeddings, 0, embeddings.length, dim);
    return scores(ScoreRequest.newBuilder()
        .setProjectId(projectId).setModelVersion(modelVersion).setEmbeddings(m).build());
  }

  /**
   * GetPoolUncertainty: the Laplace variance of r_a - r_b over numPairs (0: 4096) pool pairs
   * sampled with seed (keep it fixed across rounds), under modelVersion (0: latest).
   */
  public Types.PoolUncertainty poolUncertainty(String projectId, long modelVersion, int numPairs, long seed) {
    dev.activerm.proto.v1.GetPoolUncertaintyResponse r = call(() -> stub().getPoolUncertainty(
        dev.activerm.proto.v1.GetPoolUncertaintyRequest.newBuilder().setProjectId(projectId)
            .setModelVersion(modelVersion).setNumPairs(numPairs).setSeed(seed).build()));
    return new Types.PoolUncertainty(r.getModelVersion(), r.getNumPairs(), r.getMeanVariance(),
        r.getMedianVariance(), r.getP90Variance(), r.getMaxVariance(), r.getMeanBernoulliVariance());
  }

  private Scores scores(ScoreRequest request) {
    ScoreResponse r = call(() -> stub().score(request));
    double[] rewards = r.getRewardsList().stream().mapToDouble(Double::doubleValue).toArray();
    return new Scores(r.getModelVersion(), rewards, Mapper.pairScores(r.getPairScoresList()));
  }

  // ---- selection ----

  public Selection selectBatch(String projectId, SelectOptions o) {
    Candidates.Builder candidates = Candidates.newBuilder();
    switch (o.candidates()) {
      case CROSS_PROMPT -> candidates.setCrossPrompt(CrossPrompt.newBuilder().addAllPromptIds(o.promptIds()));
      case WITHIN_PROMPT -> candidates.setWithinPrompt(WithinPrompt.newBuilder().addAllPromptIds(o.promptIds()));
      case EXPLICIT -> {
        ExplicitPairs.Builder pairs = ExplicitPairs.newBuilder();
        o.pairs().forEach(p -> pairs.addPairs(ResponsePair.newBuilder().setAId(p.aId()).setBId(p.bId())));
        candidates.setExplicitPairs(pairs);
      }
      default -> throw new IllegalStateException("unreachable");
    }
    SelectBatchRequest.Builder builder = SelectBatchRequest.newBuilder()
        .setProjectId(projectId)
        .setBatchSize(o.batchSize())
        .setStrategy(Mapper.strategy(o.strategy()))
        .setCandidates(candidates)
        .setMaxCandidates(o.maxCandidates())
        .setSeed(o.seed())
        .setIncludeLabeled(o.includeLabeled())
        .setIncludePending(o.includePending())
        .setModelVersion(o.modelVersion());
    if (o.pendingTtl() != null) {
      builder.setPendingTtl(Mapper.duration(o.pendingTtl()));
    }
    SelectBatchRequest request = builder.build();
    return Mapper.selection(call(() -> stub().selectBatch(request)).getSelection());
  }

  /** Every selection of a project, newest first, with its counts (pairs left out). */
  public List<Selection> listSelections(String projectId) {
    List<Selection> out = new ArrayList<>();
    String token = "";
    do {
      ListSelectionsRequest request = ListSelectionsRequest.newBuilder()
          .setProjectId(projectId).setPageSize(1000).setPageToken(token).build();
      ListSelectionsResponse page = call(() -> stub().listSelections(request));
      page.getSelectionsList().forEach(s -> out.add(Mapper.selection(s)));
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return out;
  }

  /** Releases every pending pair of a selection. */
  public ReleasePairsResult releasePairs(String projectId, String selectionId) {
    return releasePairs(projectId, selectionId, List.of());
  }

  /** Releases these pairs of a selection (either orientation); empty: all of them. */
  public ReleasePairsResult releasePairs(String projectId, String selectionId, List<Pair> pairs) {
    ReleasePairsRequest.Builder request =
        ReleasePairsRequest.newBuilder().setProjectId(projectId).setSelectionId(selectionId);
    pairs.forEach(p -> request.addPairs(ResponsePair.newBuilder().setAId(p.aId()).setBId(p.bId())));
    ReleasePairsRequest built = request.build();
    ReleasePairsResponse r = call(() -> stub().releasePairs(built));
    return new ReleasePairsResult(r.getNumReleased(), r.getNumNotPending(), r.getNumPendingPairs());
  }

  /** What a selection computed off the server (the Spark job, spark/) needs for the latest model. */
  public Types.SelectionState exportSelectionState(String projectId) {
    dev.activerm.proto.v1.ExportSelectionStateRequest request =
        dev.activerm.proto.v1.ExportSelectionStateRequest.newBuilder().setProjectId(projectId).build();
    return Mapper.selectionState(call(() -> stub().exportSelectionState(request)));
  }

  /**
   * Stores a batch computed off the server as a selection: its pairs become pending. Rows in
   * r.newResponses() (chosen responses the server may not hold) are stored in the same commit,
   * or none of them if the call is refused; the whole request must fit the server's message
   * limit (--max-message-mib): add more rows with addResponses first.
   */
  public Selection registerSelection(String projectId, Types.Registration r) {
    if (r.pairs().size() != r.scores().length) {
      throw new IllegalArgumentException("got " + r.pairs().size() + " pairs and " + r.scores().length
          + " scores; send one score per pair");
    }
    Types.ResponseRows rows = r.newResponses() == null ? Types.ResponseRows.NONE : r.newResponses();
    dev.activerm.proto.v1.RegisterSelectionRequest.Builder b = dev.activerm.proto.v1.RegisterSelectionRequest
        .newBuilder()
        .setProjectId(projectId)
        .setStrategy(Mapper.strategy(r.strategy()))
        .setModelVersion(r.modelVersion())
        .setSeed(r.seed())
        .setNumCandidates(r.numCandidates())
        .setCandidateSource(switch (r.source()) {
          case EXPLICIT -> dev.activerm.proto.v1.CandidateSource.CANDIDATE_SOURCE_EXPLICIT_PAIRS;
          case WITHIN_PROMPT -> dev.activerm.proto.v1.CandidateSource.CANDIDATE_SOURCE_WITHIN_PROMPT;
          default -> dev.activerm.proto.v1.CandidateSource.CANDIDATE_SOURCE_CROSS_PROMPT;
        })
        .setMaxCandidates(r.maxCandidates())
        .setComputedOn(r.computedOn())
        .setParams(dev.activerm.proto.v1.StrategyParams.newBuilder().setRidge(r.ridge()));
    for (int i = 0; i < r.scores().length; i++) {
      Pair p = r.pairs().get(i);
      b.addPairs(dev.activerm.proto.v1.ScoredPair.newBuilder().setAId(p.aId()).setBId(p.bId())
          .setScore(r.scores()[i]));
    }
    if (!rows.isEmpty()) {
      b.setNewResponses(dev.activerm.proto.v1.ResponseRows.newBuilder()
          .addAllResponseIds(rows.ids())
          .addAllPromptIds(rows.promptIds())
          .setEmbeddings(Mapper.matrix(rows.embeddings(), 0, rows.ids().size(), rows.dim())));
    }
    dev.activerm.proto.v1.RegisterSelectionRequest request = b.build();
    return Mapper.selection(call(() -> stub().registerSelection(request)).getSelection());
  }

  public Selection getSelection(String projectId, String selectionId) {
    GetSelectionRequest request =
        GetSelectionRequest.newBuilder().setProjectId(projectId).setSelectionId(selectionId).build();
    return Mapper.selection(call(() -> stub().getSelection(request)).getSelection());
  }

  @Override
  public void close() {
    if (ownsChannel) {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- plumbing ----

  private ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub stub() {
    return blocking.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static <T> T call(Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw ActiveRmException.from(e);
    }
  }

  private static void checkRows(List<String> ids, List<String> promptIds, int rows) {
    if (ids.size() != rows || promptIds.size() != rows) {
      throw new IllegalArgumentException(
          "got " + ids.size() + " ids, " + promptIds.size() + " prompt ids and " + rows
              + " embedding rows; send one id, one prompt id and one embedding row per response");
    }
  }

  @FunctionalInterface
  private interface ChunkEncoder {
    Matrix rows(int from, int to);
  }

  /**
   * Streams the rows in chunks, sending only when the transport is ready, so a large
   * upload never sits in memory twice; then waits for the single answer.
   */
  private AddResult upload(String projectId, List<String> ids, List<String> promptIds, int dim, ChunkEncoder encoder) {
    int rowsPerChunk = Math.max(1, chunkBytes / Math.max(1, dim * Float.BYTES));
    CompletableFuture<AddResponsesResponse> answer = new CompletableFuture<>();
    Semaphore ready = new Semaphore(0);
    ClientResponseObserver<AddResponsesRequest, AddResponsesResponse> observer = new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<AddResponsesRequest> stream) {
        stream.setOnReadyHandler(ready::release);
      }

      @Override
      public void onNext(AddResponsesResponse value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
        ready.release();
      }

      @Override
      public void onCompleted() {
        answer.complete(null);
      }
    };
    ClientCallStreamObserver<AddResponsesRequest> stream = (ClientCallStreamObserver<AddResponsesRequest>)
        async.withDeadlineAfter(uploadDeadline.toMillis(), TimeUnit.MILLISECONDS).addResponses(observer);
    try {
      int from = 0;
      do {
        while (!stream.isReady() && !answer.isDone()) {
          ready.tryAcquire(100, TimeUnit.MILLISECONDS);
        }
        if (answer.isDone()) {
          break; // The server already answered (an error): stop sending.
        }
        int to = Math.min(ids.size(), from + rowsPerChunk);
        AddResponsesRequest.Builder chunk = AddResponsesRequest.newBuilder()
            .addAllResponseIds(ids.subList(from, to))
            .addAllPromptIds(promptIds.subList(from, to))
            .setEmbeddings(encoder.rows(from, to));
        if (from == 0) {
          chunk.setProjectId(projectId);
        }
        stream.onNext(chunk.build());
        from = to;
      } while (from < ids.size());
      if (!answer.isDone()) {
        stream.onCompleted();
      }
      AddResponsesResponse r = answer.get(uploadDeadline.toMillis() + 5_000, TimeUnit.MILLISECONDS);
      return new AddResult(r.getNumAdded(), r.getNumResponses());
    } catch (InterruptedException e) {
      stream.cancel("interrupted", e);
      Thread.currentThread().interrupt();
      throw new ActiveRmException(io.grpc.Status.Code.CANCELLED, "upload interrupted", List.of(), e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException sre) {
        throw ActiveRmException.from(sre);
      }
      throw new ActiveRmException(io.grpc.Status.Code.UNKNOWN, String.valueOf(e.getCause()), List.of(), e.getCause());
    } catch (TimeoutException e) {
      stream.cancel("timed out", e);
      throw new ActiveRmException(io.grpc.Status.Code.DEADLINE_EXCEEDED, "upload timed out", List.of(), e);
    } catch (RuntimeException e) {
      stream.cancel("client failed while uploading", e);
      throw e;
    }
  }
}
