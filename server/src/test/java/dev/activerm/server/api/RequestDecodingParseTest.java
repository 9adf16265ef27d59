package dev.activerm.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Matrix;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.internal.ReadableBuffers;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * RequestDecoding's parser against grpc-java's (the reference): the same messages, the same
 * failures, and for an 8 MiB upload chunk one copy of its bytes where grpc-java's makes two.
 */
class RequestDecodingParseTest {
  private static final MethodDescriptor<AddResponsesRequest, ?> METHOD = ActiveRewardModelingServiceGrpc.getAddResponsesMethod();

  static AddResponsesRequest chunk(int rows, int cols) {
    byte[] data = new byte[rows * cols * 4];
    new Random(3).nextBytes(data);
    return AddResponsesRequest.newBuilder()
        .setProjectId("p")
        .addAllResponseIds(IntStream.range(0, rows).mapToObj(i -> "r" + i).toList())
        .addAllPromptIds(IntStream.range(0, rows).mapToObj(i -> "q" + i / 4).toList())
        .setEmbeddings(Matrix.newBuilder().setRows(rows).setCols(cols).setData(ByteString.copyFrom(data)))
        .build();
  }

  /** The message as the transport hands it over: grpc-java's known-length stream over its buffers. */
  static InputStream wire(byte[] bytes) {
    return ReadableBuffers.openStream(ReadableBuffers.wrap(bytes), true);
  }

  private static long allocatedBy(Runnable r) {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    r.run();
    return threads.getCurrentThreadAllocatedBytes() - before;
  }

  @Test
  void parsesTheSameMessagesAsGrpcJavasMarshaller() {
    for (AddResponsesRequest m : new AddResponsesRequest[] {chunk(0, 0), chunk(1, 3), chunk(100, 7), chunk(2048, 1024),
        AddResponsesRequest.getDefaultInstance()}) {
      byte[] bytes = m.toByteArray();
      AddResponsesRequest ours = RequestDecoding.parse(METHOD, wire(bytes));
      AddResponsesRequest reference = METHOD.parseRequest(wire(bytes));
      assertThat(ours).isEqualTo(reference).isEqualTo(m);
      // A stream that does not know its length reads the same.
      assertThat(RequestDecoding.parse(METHOD, new ByteArrayInputStream(bytes) {
        @Override
        public int available() {
          return 0;
        }
      })).isEqualTo(m);
    }
  }

  @Test
  void malformedBytesFailAsGrpcJavasMarshallerFails() {
    byte[] truncated = java.util.Arrays.copyOf(chunk(10, 4).toByteArray(), 100);
    for (byte[] bad : new byte[][] {truncated, {(byte) 0xff, (byte) 0xff, (byte) 0xff}, {0x0a, 0x7f}}) {
      StatusRuntimeException reference = catchStatus(() -> METHOD.parseRequest(wire(bad)));
      StatusRuntimeException ours = catchStatus(() -> RequestDecoding.parse(METHOD, wire(bad)));
      assertThat(ours.getStatus().getCode()).isEqualTo(reference.getStatus().getCode());
      assertThat(ours.getStatus().getDescription()).isEqualTo(reference.getStatus().getDescription());
      assertThat(ours.getCause()).isInstanceOf(InvalidProtocolBufferException.class)
          .hasMessage(reference.getCause().getMessage());
    }
  }

  private static StatusRuntimeException catchStatus(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("did not fail");
  }

  /**
   * An 8 MiB chunk costs one 8 MiB array, its embeddings a view of it. grpc-java's marshaller
   * reads a message over 4 MiB as a stream and copies a large bytes field twice (measured
   * here too, so the test shows what it is about).
   */
  @Test
  void anUploadChunksBytesAreCopiedOnceAndItsEmbeddingsAreAViewOfThatCopy() {
    AddResponsesRequest m = chunk(2048, 1024); // 8 MiB of embeddings
    byte[] bytes = m.toByteArray();
    long size = bytes.length;
    // Warm both paths (class loading, the JIT) before counting.
    for (int i = 0; i < 3; i++) {
      RequestDecoding.parse(METHOD, wire(bytes));
      METHOD.parseRequest(wire(bytes));
    }
    long reference = allocatedBy(() -> METHOD.parseRequest(wire(bytes)));
    long ours = allocatedBy(() -> RequestDecoding.parse(METHOD, wire(bytes)));
    assertThat(reference).as("grpc-java's parse").isGreaterThan(2 * size - 1);
    assertThat(ours).as("RequestDecoding.parse of %d bytes", size).isLessThan(size + size / 4);
    AddResponsesRequest parsed = RequestDecoding.parse(METHOD, wire(bytes));
    // A view, not a copy of the 8 MiB (the few KiB are the views and first-call class loading).
    assertThat(allocatedBy(() -> MatrixCodec.bytes(parsed.getEmbeddings(), "embeddings"))).isLessThan(1 << 20);
    assertThat(MatrixCodec.bytes(parsed.getEmbeddings(), "embeddings"))
        .isEqualTo(m.getEmbeddings().getData().asReadOnlyByteBuffer());
  }

  @Test
  void aFailingStreamIsReportedAsAFailedRead() {
    InputStream broken = new InputStream() {
      @Override
      public int read() throws java.io.IOException {
        throw new java.io.IOException("gone");
      }
    };
    assertThatThrownBy(() -> RequestDecoding.parse(METHOD, broken)).isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("reading the request message failed");
  }
}
