package dev.activerm.server;

import com.google.protobuf.MessageLite;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Calls with arbitrary bytes on the wire: every method of the service re-described with a
 * byte[] marshaller, so a test can send what no generated stub would (a truncated message,
 * 0xff, a second message on a unary method).
 */
public final class RawCalls {
  public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  /** The answer of one raw call: its status, trailers and the response messages' bytes. */
  public record Result(Status status, Metadata trailers, List<byte[]> responses) {}

  private RawCalls() {}

  /** Every method of the activerm service, from its descriptor (so new RPCs are included). */
  public static List<MethodDescriptor<byte[], byte[]>> serviceMethods() {
    List<MethodDescriptor<byte[], byte[]>> out = new ArrayList<>();
    for (MethodDescriptor<?, ?> m : ActiveRewardModelingServiceGrpc.getServiceDescriptor().getMethods()) {
      out.add(raw(m));
    }
    return out;
  }

  public static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> m) {
    return m.toBuilder(BYTES, BYTES).build();
  }

  public static MethodDescriptor<byte[], byte[]> method(String bareName) {
    return serviceMethods().stream().filter(m -> bareName.equals(m.getBareMethodName())).findFirst()
        .orElseThrow(() -> new AssertionError("no method " + bareName));
  }

  public static byte[] bytes(MessageLite m) {
    return m.toByteArray();
  }

  /**
   * Sends the messages, half-closes and waits for the status: at most the deadline plus
   * 10 s, so a call the server never answers fails the test as a hang instead of stalling it.
   */
  public static Result call(Channel channel, MethodDescriptor<byte[], byte[]> method, Metadata headers,
      long deadlineMillis, byte[]... messages) {
    ClientCall<byte[], byte[]> call =
        channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS));
    CompletableFuture<Result> done = new CompletableFuture<>();
    List<byte[]> responses = new ArrayList<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        synchronized (responses) {
          responses.add(message);
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        synchronized (responses) {
          done.complete(new Result(status, trailers, List.copyOf(responses)));
        }
      }
    }, headers);
    call.request(Integer.MAX_VALUE);
    for (byte[] m : messages) {
      call.sendMessage(m);
    }
    call.halfClose();
    try {
      return done.get(deadlineMillis + 10_000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.cancel("the test gave up", null);
      throw new AssertionError(method.getBareMethodName() + " did not answer within its deadline + 10 s (a hang)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause());
    }
  }

  public static Result call(Channel channel, MethodDescriptor<byte[], byte[]> method, byte[]... messages) {
    return call(channel, method, new Metadata(), 20_000, messages);
  }
}
