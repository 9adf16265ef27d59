package dev.activerm.server.fuzz;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.LinearFitOptions;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.SelectBatchResponse;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.proto.v1.StrategyParams;
import dev.activerm.server.RawCalls;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.ErrorMapper;
import dev.activerm.server.api.RequestDecoding;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Wire-level fuzz of every method of the service (enumerated from its descriptor, so new RPCs
 * are fuzzed too), in-process against a real server over a temp dir: random bytes, and valid
 * requests mutated at the byte level (flips, cuts, splices, repeats), one to three messages
 * per call (streams) or zero to two (unary, mostly one). Every call must end with a status
 * before its deadline (plus a grace for the test's own bookkeeping), never UNKNOWN or INTERNAL,
 * and the log must grow by a bounded number of lines per call with rate-limited stack traces.
 *
 * <p>Numbers inside mutated messages that still parse are clamped to |x| <= 1e3 (floats) and
 * |n| <= 100 (integers): finite-but-extreme numerics (1e8 in a pool row, learning_rate 1e30)
 * and memory estimates for huge sizes are issue 14 items 5 and 10, fuzzed by their own tests,
 * not here. Random bytes that do not parse are sent unchanged.
 */
@Timeout(180)
class WireFuzzTest {
  static final int DIM = 3;
  static final int CALLS = 3250;
  static final long SEED = 0x5eed_14L;
  static final long DEADLINE_MS = 5_000;

  @TempDir Path dir;

  @Test
  void noMethodAnswersUnknownOrInternalHangsOrFloodsTheLog() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    try (TestServer server = new TestServer(dir)) {
      Map<String, List<byte[]>> seeds = seed(server);
      logs.start();
      root.addAppender(logs);
      SplittableRandom rnd = new SplittableRandom(SEED);
      List<MethodDescriptor<byte[], byte[]>> methods = RawCalls.serviceMethods();
      Map<Status.Code, Integer> codes = new EnumMap<>(Status.Code.class);
      List<String> failures = new ArrayList<>();
      for (int i = 0; i < CALLS; i++) {
        MethodDescriptor<byte[], byte[]> m = methods.get(i % methods.size());
        List<byte[]> seedList = seeds.getOrDefault(requestType(m), List.of(new byte[0]));
        byte[][] messages = messages(rnd, m, seedList);
        RawCalls.Result r = RawCalls.call(server.channel(), m, new Metadata(), DEADLINE_MS, messages);
        Status.Code code = r.status().getCode();
        codes.merge(code, 1, Integer::sum);
        if (code == Status.Code.UNKNOWN || code == Status.Code.INTERNAL) {
          failures.add(m.getBareMethodName() + " " + code + ": " + r.status().getDescription());
        }
      }
      root.detachAppender(logs);
      List<ILoggingEvent> events = List.copyOf(logs.list);
      System.out.println("wire fuzz: " + CALLS + " calls, statuses " + codes + ", " + events.size() + " log lines");
      assertThat(failures).as("calls answered UNKNOWN or INTERNAL").isEmpty();
      // Most calls must get past decoding, or the fuzz tests little beyond the decoder.
      assertThat(codes.getOrDefault(Status.Code.OK, 0)).isGreaterThan(CALLS / 20);

      // At most an access line and one INFO line of what a successful call did, per call; the
      // lines a caller can trigger at will (malformed calls, unexpected errors) are rate-limited:
      // a budget per minute each, plus one summary line per later minute (the fuzz may take two).
      assertThat(events.size()).isLessThanOrEqualTo(2 * CALLS + 50);
      assertThat(events.stream().filter(e -> e.getLoggerName().equals(RequestDecoding.class.getName())).count())
          .isLessThanOrEqualTo(2L * (RequestDecoding.LOG_LINES_PER_MINUTE + 1));
      assertThat(events.stream().filter(e -> e.getLoggerName().equals(ErrorMapper.class.getName())).count())
          .isLessThanOrEqualTo(2L * (ErrorMapper.ERROR_LINES_PER_MINUTE + 1));
      assertThat(events.stream().filter(e -> e.getThrowableProxy() != null).count())
          .isLessThanOrEqualTo(2L * ErrorMapper.ERROR_LINES_PER_MINUTE);
      assertThat(events).allSatisfy(e -> assertThat(e.getFormattedMessage()).hasSizeLessThan(4000).doesNotContain("\n"));
    } finally {
      root.detachAppender(logs);
    }
  }

  static String requestType(MethodDescriptor<?, ?> m) {
    return m.getFullMethodName().substring(m.getFullMethodName().lastIndexOf('/') + 1) + "Request";
  }

  /** One to three messages for client streams; mostly one, sometimes zero or two, for unary. */
  static byte[][] messages(SplittableRandom rnd, MethodDescriptor<?, ?> m, List<byte[]> seeds) {
    int n;
    if (m.getType().clientSendsOneMessage()) {
      int roll = rnd.nextInt(20);
      n = roll == 0 ? 0 : roll == 1 ? 2 : 1;
    } else {
      n = 1 + rnd.nextInt(3);
    }
    byte[][] out = new byte[n][];
    for (int i = 0; i < n; i++) {
      byte[] seed = seeds.get(rnd.nextInt(seeds.size()));
      int kind = rnd.nextInt(10);
      out[i] = kind < 3 ? randomBytes(rnd) : kind < 5 ? seed : clamp(m, mutate(rnd, seed, seeds));
    }
    return out;
  }

  static byte[] randomBytes(SplittableRandom rnd) {
    byte[] b = new byte[rnd.nextInt(80)];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) rnd.nextInt(256);
    }
    return b;
  }

  static byte[] mutate(SplittableRandom rnd, byte[] seed, List<byte[]> seeds) {
    byte[] b = seed.clone();
    int edits = 1 + rnd.nextInt(4);
    for (int e = 0; e < edits; e++) {
      switch (rnd.nextInt(5)) {
        case 0 -> { // flip a bit
          if (b.length > 0) {
            b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
          }
        }
        case 1 -> { // replace a byte
          if (b.length > 0) {
            b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
          }
        }
        case 2 -> { // cut at a random point
          b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1));
        }
        case 3 -> { // splice the tail of another seed (protobuf merges repeated fields)
          byte[] other = seeds.get(rnd.nextInt(seeds.size()));
          int from = rnd.nextInt(other.length + 1);
          byte[] c = java.util.Arrays.copyOf(b, b.length + other.length - from);
          System.arraycopy(other, from, c, b.length, other.length - from);
          b = c;
        }
        default -> { // repeat the message (fields appear twice)
          byte[] c = java.util.Arrays.copyOf(b, b.length * 2);
          System.arraycopy(b, 0, c, b.length, b.length);
          b = c;
        }
      }
    }
    return b;
  }

  /** Mutated bytes that still parse get their numbers clamped (see the class comment). */
  static byte[] clamp(MethodDescriptor<?, ?> m, byte[] bytes) {
    Message prototype = prototype(m);
    if (prototype == null) {
      return bytes;
    }
    try {
      return clamp(prototype.getParserForType().parseFrom(bytes)).toByteArray();
    } catch (InvalidProtocolBufferException e) {
      return bytes;
    }
  }

  static Message prototype(MethodDescriptor<?, ?> m) {
    for (MethodDescriptor<?, ?> typed : ActiveRewardModelingServiceGrpc.getServiceDescriptor().getMethods()) {
      if (typed.getFullMethodName().equals(m.getFullMethodName())
          && typed.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
          && p.getMessagePrototype() instanceof Message proto) {
        return proto;
      }
    }
    return null;
  }

  static Message clamp(Message m) {
    Message.Builder b = m.toBuilder();
    if (m.getDescriptorForType().getFullName().equals("activerm.v1.Matrix")) {
      FieldDescriptor data = m.getDescriptorForType().findFieldByName("data");
      ByteString raw = (ByteString) m.getField(data);
      ByteBuffer in = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer out = ByteBuffer.allocate(raw.size()).order(ByteOrder.LITTLE_ENDIAN);
      while (in.remaining() >= 4) {
        out.putFloat((float) clampReal(in.getFloat()));
      }
      while (in.hasRemaining()) {
        out.put(in.get());
      }
      b.setField(data, ByteString.copyFrom(out.array()));
    }
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (f.isRepeated()) {
        List<?> values = (List<?>) e.getValue();
        for (int i = 0; i < values.size(); i++) {
          b.setRepeatedField(f, i, clampValue(f, values.get(i)));
        }
      } else {
        b.setField(f, clampValue(f, e.getValue()));
      }
    }
    return b.build();
  }

  static Object clampValue(FieldDescriptor f, Object v) {
    return switch (f.getJavaType()) {
      case DOUBLE -> clampReal((Double) v);
      case FLOAT -> (float) clampReal((Float) v);
      case INT -> (int) Math.max(-100, Math.min(100, (Integer) v));
      case LONG -> Math.max(-100L, Math.min(100L, (Long) v));
      case MESSAGE -> clamp((Message) v);
      default -> v;
    };
  }

  /** Finite values into [-1e3, 1e3]; NaN and infinities stay (the server must reject them). */
  static double clampReal(double x) {
    return Double.isFinite(x) ? Math.max(-1e3, Math.min(1e3, x)) : x;
  }

  /** A project with responses, labels, a model and a selection; valid requests of every method. */
  static Map<String, List<byte[]>> seed(TestServer server) {
    var stub = server.blocking();
    stub.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).setL2(1).build());
    List<String> ids = new ArrayList<>();
    float[][] rows = new float[12][DIM];
    AddResponsesRequest.Builder up = AddResponsesRequest.newBuilder().setProjectId("p");
    for (int i = 0; i < rows.length; i++) {
      ids.add("r" + i);
      up.addResponseIds("r" + i).addPromptIds("q" + (i % 3));
      for (int j = 0; j < DIM; j++) {
        rows[i][j] = (float) Math.sin(i * 1.7 + j);
      }
    }
    TestServer.upload(server.async(), up.setEmbeddings(TestServer.matrix(rows)).build());
    AddComparisonsRequest.Builder labels = AddComparisonsRequest.newBuilder().setProjectId("p");
    for (int i = 0; i + 1 < ids.size(); i++) {
      labels.addComparisons(Comparison.newBuilder().setAId(ids.get(i)).setBId(ids.get(i + 1))
          .setOutcome(i % 3 == 0 ? Outcome.OUTCOME_B : Outcome.OUTCOME_A));
    }
    stub.addComparisons(labels.build());
    stub.fit(FitRequest.newBuilder().setProjectId("p").build());
    SelectBatchResponse selected = stub.selectBatch(SelectBatchRequest.newBuilder().setProjectId("p").setBatchSize(2)
        .setStrategy(Strategy.STRATEGY_DOPT).build());

    Map<String, List<byte[]>> seeds = new HashMap<>();
    put(seeds, CreateProjectRequest.newBuilder().setProjectId("fz").setEmbeddingDim(DIM).build(),
        CreateProjectRequest.newBuilder().setProjectId("fz-mlp").setEmbeddingDim(DIM)
            .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addHiddenSizes(4).addHiddenSizes(4)).build());
    put(seeds, GetProjectRequest.newBuilder().setProjectId("p").build());
    put(seeds, ListProjectsRequest.newBuilder().setPageSize(3).build());
    put(seeds, DeleteProjectRequest.newBuilder().setProjectId("fz").build());
    put(seeds, AddResponsesRequest.newBuilder().setProjectId("p").addResponseIds("n1").addPromptIds("q1")
            .setEmbeddings(TestServer.matrix(new float[][] {{0.5f, -1f, 2f}})).build(),
        AddResponsesRequest.newBuilder().addResponseIds("n2").addResponseIds("n3").addPromptIds("q2").addPromptIds("q0")
            .setEmbeddings(TestServer.matrix(new float[][] {{1f, 1f, 1f}, {-3f, 0f, 0.25f}})).build());
    put(seeds, ListResponsesRequest.newBuilder().setProjectId("p").setPageSize(4).setIncludeEmbeddings(true).build(),
        ListResponsesRequest.newBuilder().setProjectId("p").addResponseIds("r1").addResponseIds("r2").build());
    put(seeds, AddComparisonsRequest.newBuilder().setProjectId("p").addComparisons(Comparison.newBuilder()
        .setAId("r0").setBId("r5").setOutcome(Outcome.OUTCOME_TIE).setAnnotatorId("ann").setWeight(0.5)).build());
    put(seeds, ListComparisonsRequest.newBuilder().setProjectId("p").setPageSize(5).build());
    put(seeds, FitRequest.newBuilder().setProjectId("p").setWarmStart(true).setSeed(3)
        .setLinear(LinearFitOptions.newBuilder().setMaxIterations(20).setTolerance(1e-6)).build());
    put(seeds, ScoreRequest.newBuilder().setProjectId("p").setResponseIds(ResponseIds.newBuilder().addIds("r1").addIds("r2"))
            .addPairs(ResponsePair.newBuilder().setAId("r1").setBId("r3")).build(),
        ScoreRequest.newBuilder().setProjectId("p").setEmbeddings(TestServer.matrix(new float[][] {{0.1f, 0.2f, 0.3f}})).build());
    List<byte[]> selects = new ArrayList<>();
    for (Strategy s : Strategy.values()) {
      if (s != Strategy.UNRECOGNIZED && s != Strategy.STRATEGY_UNSPECIFIED) {
        selects.add(SelectBatchRequest.newBuilder().setProjectId("p").setBatchSize(2).setStrategy(s).setSeed(7)
            .setMaxCandidates(30).setIncludePending(true)
            .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.newBuilder().addPromptIds("q1")))
            .setParams(StrategyParams.newBuilder().setPosteriorSamples(16).setCoresetClusters(2)).build().toByteArray());
      }
    }
    seeds.put("SelectBatchRequest", selects);
    put(seeds, GetSelectionRequest.newBuilder().setProjectId("p").setSelectionId(selected.getSelection().getSelectionId()).build());
    // A method added later without a seed here is still fuzzed: its prototype naming project p.
    for (MethodDescriptor<byte[], byte[]> m : RawCalls.serviceMethods()) {
      seeds.computeIfAbsent(requestType(m), k -> List.of(defaultSeed(m)));
    }
    return seeds;
  }

  static byte[] defaultSeed(MethodDescriptor<?, ?> m) {
    Message proto = prototype(m);
    if (proto == null) {
      return new byte[0];
    }
    Message.Builder b = proto.newBuilderForType();
    FieldDescriptor project = proto.getDescriptorForType().findFieldByName("project_id");
    if (project != null && project.getJavaType() == FieldDescriptor.JavaType.STRING) {
      b.setField(project, "p");
    }
    return b.build().toByteArray();
  }

  static void put(Map<String, List<byte[]>> seeds, Message... messages) {
    List<byte[]> list = new ArrayList<>();
    for (Message m : messages) {
      list.add(m.toByteArray());
    }
    seeds.put(messages[0].getDescriptorForType().getName(), list);
  }
}
