package dev.activerm.server.api;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageLite;
import com.google.protobuf.UnsafeByteOperations;
import dev.activerm.server.api.observability.RateLimitedLog;
import dev.activerm.server.core.errors.Shown;
import io.grpc.Attributes;
import io.grpc.KnownLength;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import org.slf4j.LoggerFactory;

/**
 * Decodes request messages in front of a service, so that bytes which are not a valid
 * request end the call with INVALID_ARGUMENT saying so, instead of grpc-java's UNKNOWN
 * "Application error processing RPC" and a stack trace per call. A rejected call reaches the
 * service as cancelled (its handler cleans up and never sees a half-close), and is logged as
 * one line within a per-minute budget. Unary methods also get exactly one message, or
 * INVALID_ARGUMENT (grpc-java would answer INTERNAL).
 *
 * <p>Wrap the fully intercepted service: the interceptors inside still see typed messages.
 */
public final class RequestDecoding {
  /** Decode failures logged per minute across the server; the rest are counted in a summary line. */
  public static final int LOG_LINES_PER_MINUTE = 10;

  private static final RateLimitedLog log = new RateLimitedLog(
      LoggerFactory.getLogger(RequestDecoding.class), LOG_LINES_PER_MINUTE, Duration.ofMinutes(1));

  private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return stream;
    }
  };

  private RequestDecoding() {}

  public static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      out.addMethod(guard(m));
    }
    return out.build();
  }

  private static <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> guard(ServerMethodDefinition<ReqT, RespT> def) {
    MethodDescriptor<ReqT, RespT> typed = def.getMethodDescriptor();
    MethodDescriptor<InputStream, RespT> raw = typed.toBuilder(RAW, typed.getResponseMarshaller()).build();
    ServerCallHandler<ReqT, RespT> handler = def.getServerCallHandler();
    return ServerMethodDefinition.create(raw, (call, headers) -> {
      TypedCall<ReqT, RespT> typedCall = new TypedCall<>(call, typed);
      return new Decoding<>(typedCall, handler.startCall(typedCall, headers));
    });
  }

  /**
   * Parses one request message. For protobuf requests (every method here) the message's bytes
   * are read once into an array of exactly their size and parsed from it with aliasing on, so
   * a {@code bytes} field (an upload's embeddings: 8 MiB per chunk) is a view of that array.
   * grpc-java's own parser reads a message over 4 MiB as a stream: each large bytes field was
   * read into a buffer and then copied again into its ByteString, two 8 MiB allocations and two
   * copies per chunk. The array is this call's alone (never reused), so the alias is safe; it
   * lives as long as the request or a ByteString taken from it.
   */
  @SuppressWarnings("unchecked")
  static <ReqT> ReqT parse(MethodDescriptor<ReqT, ?> method, InputStream message) {
    if (!(method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
        && p.getMessagePrototype() instanceof MessageLite prototype)) {
      return method.parseRequest(message);
    }
    try {
      byte[] bytes = readAll(message);
      // Through an immutable ByteString: CodedInputStream aliases only input it may treat as immutable.
      CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
      in.enableAliasing(true);
      MessageLite parsed = prototype.getParserForType().parseFrom(in, ExtensionRegistryLite.getEmptyRegistry());
      in.checkLastTagWas(0);
      return (ReqT) parsed;
    } catch (InvalidProtocolBufferException e) {
      // As grpc-java's marshaller reports it (RequestDecoding names the root cause).
      throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("reading the request message failed").withCause(e).asRuntimeException();
    }
  }

  /** The stream's bytes in one array: sized from {@link KnownLength#available()} when the stream knows its length. */
  static byte[] readAll(InputStream message) throws IOException {
    if (!(message instanceof KnownLength)) {
      return message.readAllBytes();
    }
    byte[] bytes = new byte[message.available()];
    int n = message.readNBytes(bytes, 0, bytes.length);
    if (n < bytes.length) {
      return java.util.Arrays.copyOf(bytes, n);
    }
    int next = message.read();
    if (next < 0) {
      return bytes;
    }
    // Longer than available() said: not what grpc-java's streams do, but read it all.
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream(bytes.length + 1 + message.available());
    all.write(bytes);
    all.write(next);
    message.transferTo(all);
    return all.toByteArray();
  }

  /** The request type's full name, e.g. activerm.v1.AddResponsesRequest. */
  static String requestType(MethodDescriptor<?, ?> method) {
    if (method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
        && p.getMessagePrototype() instanceof Message m) {
      return m.getDescriptorForType().getFullName();
    }
    return "request message of " + method.getFullMethodName();
  }

  /** Parses each message, rejects the call on the first that does not parse. */
  private static final class Decoding<ReqT, RespT> extends ServerCall.Listener<InputStream> {
    private final TypedCall<ReqT, RespT> call;
    private final ServerCall.Listener<ReqT> delegate;
    private final boolean unaryRequest;
    private int messages;
    private boolean rejected;

    Decoding(TypedCall<ReqT, RespT> call, ServerCall.Listener<ReqT> delegate) {
      this.call = call;
      this.delegate = delegate;
      this.unaryRequest = call.getMethodDescriptor().getType().clientSendsOneMessage();
    }

    @Override
    public void onMessage(InputStream message) {
      if (rejected) {
        close(message);
        return;
      }
      messages++;
      MethodDescriptor<ReqT, RespT> method = call.getMethodDescriptor();
      if (unaryRequest && messages > 1) {
        close(message);
        reject(method.getBareMethodName() + " takes exactly one request message; this call sent more."
            + " Call it with a unary stub", "a second message on a unary call");
        return;
      }
      ReqT request;
      try {
        request = parse(method, message);
      } catch (RuntimeException e) {
        String why = reason(e);
        reject("message " + messages + " of this " + method.getBareMethodName() + " call is not a valid "
            + requestType(method) + " (" + why + "). Send requests encoded by the generated activerm.v1 stubs"
            + " (the Java client, the Python activerm package, or protoc output of proto/activerm/v1), and check"
            + " that nothing between client and server changes the bytes", why);
        return;
      } finally {
        close(message);
      }
      delegate.onMessage(request);
    }

    @Override
    public void onHalfClose() {
      if (rejected) {
        return;
      }
      if (unaryRequest && messages == 0) {
        reject(call.getMethodDescriptor().getBareMethodName()
            + " takes exactly one request message; this call sent none. Call it with a unary stub", "no message");
        return;
      }
      delegate.onHalfClose();
    }

    @Override
    public void onCancel() {
      if (!rejected) {
        delegate.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!rejected) {
        delegate.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!rejected) {
        delegate.onReady();
      }
    }

    private void reject(String description, String logReason) {
      rejected = true;
      log.warn("{}: rejected a malformed call from {} as INVALID_ARGUMENT: {}",
          call.getMethodDescriptor().getFullMethodName(),
          call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR), Shown.text(logReason, 120));
      call.closeOnce(Status.INVALID_ARGUMENT.withDescription(description));
      // The handler learns its call is over as a cancellation: it drops what it holds.
      delegate.onCancel();
    }

    private static String reason(RuntimeException e) {
      Throwable t = e;
      while (t.getCause() != null && t.getCause() != t) {
        t = t.getCause();
      }
      String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      return Shown.text(m, 300);
    }

    private static void close(InputStream message) {
      try {
        message.close();
      } catch (IOException ignored) {
        // Nothing to release beyond the buffer.
      }
    }
  }

  /** The raw call seen by the typed handler and its interceptors. */
  private static final class TypedCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
    private final ServerCall<InputStream, RespT> raw;
    private final MethodDescriptor<ReqT, RespT> method;
    private boolean closed;

    TypedCall(ServerCall<InputStream, RespT> raw, MethodDescriptor<ReqT, RespT> method) {
      this.raw = raw;
      this.method = method;
    }

    /** Closes unless the handler already did (e.g. UNAUTHENTICATED before the first message). */
    synchronized void closeOnce(Status status) {
      if (!closed) {
        closed = true;
        raw.close(status, new Metadata());
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (closed) {
        return;
      }
      closed = true;
      raw.close(status, trailers);
    }

    @Override
    public void request(int numMessages) {
      raw.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      raw.sendHeaders(headers);
    }

    @Override
    public void sendMessage(RespT message) {
      raw.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return raw.isReady();
    }

    @Override
    public boolean isCancelled() {
      return raw.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      raw.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      raw.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      raw.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return raw.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return raw.getAttributes();
    }

    @Override
    public String getAuthority() {
      return raw.getAuthority();
    }

    @Override
    public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
      return method;
    }
  }
}
