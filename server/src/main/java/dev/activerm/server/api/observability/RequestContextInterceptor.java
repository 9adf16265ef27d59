package dev.activerm.server.api.observability;

import dev.activerm.server.api.RequestFields;
import dev.activerm.server.core.errors.Shown;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Gives every call a request id (the caller's x-request-id, else a new one) and puts it,
 * the method and the project id into the logging MDC around each callback, so every log
 * line of a call carries them; echoes the id back in the response headers and logs one
 * line per finished call, and marks every status it closes with {@link #ANSWERED_BY} so a client
 * can tell a status this server sent (the data dir guard's UNAVAILABLE, say) from one its own
 * transport made up (no server at that address). Caller text (request id, project id, the status description) goes
 * into log lines only through {@link Shown}: escaped and bounded, so it cannot forge lines.
 */
public final class RequestContextInterceptor implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger("activerm.access");
  static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
  /**
   * Trailer on every status this server closes. A client adds "is a server running at ...?" to an
   * UNAVAILABLE only when it is absent: the hint is wrong for a server that answered.
   */
  public static final Metadata.Key<String> ANSWERED_BY =
      Metadata.Key.of("x-activerm-answered-by", Metadata.ASCII_STRING_MARSHALLER);
  /** Characters of a failed call's status description kept in its access line. */
  static final int MAX_LOGGED_DESCRIPTION = 1000;

  /** A caller's request id is used when it is 1..128 printable ASCII characters, else replaced. */
  static boolean usable(String id) {
    if (id == null || id.isEmpty() || id.length() > 128) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String given = headers.get(REQUEST_ID);
    String requestId = usable(given) ? given : UUID.randomUUID().toString();
    String method = call.getMethodDescriptor().getBareMethodName();
    long start = System.nanoTime();
    String[] project = {""};
    ServerCall<ReqT, RespT> tracked = new SimpleForwardingServerCall<>(call) {
      @Override
      public void sendHeaders(Metadata responseHeaders) {
        responseHeaders.put(REQUEST_ID, requestId);
        super.sendHeaders(responseHeaders);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        try (Scope ignored = new Scope(requestId, method, project[0])) {
          log.info("{} {} in {} ms{}", method, status.getCode(), (System.nanoTime() - start) / 1_000_000,
              status.isOk() ? "" : ": " + Shown.text(status.getDescription(), MAX_LOGGED_DESCRIPTION));
        }
        trailers.put(ANSWERED_BY, "activerm");
        super.close(status, trailers);
      }
    };
    ServerCall.Listener<ReqT> delegate;
    try (Scope ignored = new Scope(requestId, method, "")) {
      delegate = next.startCall(tracked, headers);
    }
    return new SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(ReqT message) {
        if (project[0].isEmpty()) {
          project[0] = Shown.id(RequestFields.projectId(message));
        }
        try (Scope ignored = new Scope(requestId, method, project[0])) {
          super.onMessage(message);
        }
      }

      @Override
      public void onHalfClose() {
        try (Scope ignored = new Scope(requestId, method, project[0])) {
          super.onHalfClose();
        }
      }

      @Override
      public void onCancel() {
        try (Scope ignored = new Scope(requestId, method, project[0])) {
          super.onCancel();
        }
      }
    };
  }


  /** Sets the MDC keys for the span of one callback and restores them after. */
  private static final class Scope implements AutoCloseable {
    Scope(String requestId, String method, String project) {
      MDC.put("request_id", requestId);
      MDC.put("rpc", method);
      if (!project.isEmpty()) {
        MDC.put("project", project);
      }
    }

    @Override
    public void close() {
      MDC.remove("request_id");
      MDC.remove("rpc");
      MDC.remove("project");
    }
  }
}
