package dev.activerm.server.api.auth;

import dev.activerm.server.api.RequestFields;
import dev.activerm.server.core.errors.Shown;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Bearer-token API keys for the activerm service (health and reflection stay open):
 * no or unknown key -> UNAUTHENTICATED; a request naming a project outside the key's
 * scope -> PERMISSION_DENIED, checked on every message (so every chunk of a stream); the
 * handler of a call denied midway learns it is over as a cancellation, so it drops what it holds.
 * The caller's {@link Principal} is in the gRPC context for the service to filter lists.
 */
public final class ApiKeyInterceptor implements ServerInterceptor {
  public static final Context.Key<Principal> PRINCIPAL = Context.keyWithDefault("activerm-principal", Principal.LOCAL);
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String GUARDED_SERVICE = "activerm.v1.ActiveRewardModelingService";

  private final ApiKeys keys;

  public ApiKeyInterceptor(ApiKeys keys) {
    this.keys = keys;
  }

  /** The caller of the current call (LOCAL when keys are off). */
  public static Principal current() {
    return PRINCIPAL.get();
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    if (!GUARDED_SERVICE.equals(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers);
    }
    String header = headers.get(AUTHORIZATION);
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      call.close(Status.UNAUTHENTICATED.withDescription(
          "this server requires an API key: send call metadata 'authorization: Bearer <key>' "
              + "(Java client: builder().apiKey(...); Python: Client(..., api_key=...))"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Principal principal = keys.lookup(header.substring(7).strip());
    if (principal == null) {
      call.close(Status.UNAUTHENTICATED.withDescription(
          "the API key is not recognised; check the key, or ask the operator to add its hash to the keys file"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context context = Context.current().withValue(PRINCIPAL, principal);
    ServerCall.Listener<ReqT> delegate = Contexts.interceptCall(context, call, headers, next);
    if (principal.admin()) {
      return delegate;
    }
    return new SimpleForwardingServerCallListener<>(delegate) {
      private boolean denied;

      @Override
      public void onMessage(ReqT message) {
        if (denied) {
          return;
        }
        String project = RequestFields.projectId(message);
        if (!project.isEmpty() && !principal.canAccess(project)) {
          denied = true;
          call.close(Status.PERMISSION_DENIED.withDescription(
              "API key '" + principal.name() + "' may use projects [" + principal.scope() + "], not '"
                  + Shown.id(project) + "'; use a key scoped to it"), new Metadata());
          // An upload denied at its second chunk must give its project's upload slot back.
          super.onCancel();
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        if (!denied) {
          super.onCancel();
        }
      }

      @Override
      public void onComplete() {
        if (!denied) {
          super.onComplete();
        }
      }

      @Override
      public void onHalfClose() {
        if (!denied) {
          super.onHalfClose();
        }
      }

      @Override
      public void onReady() {
        if (!denied) {
          super.onReady();
        }
      }
    };
  }
}
