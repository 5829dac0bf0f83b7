package io.wsgateway.internal;

import io.wsgateway.Principal;
import io.wsgateway.auth.Authorizer;
import java.util.Collection;
import java.util.Objects;

/** Authorizes topic operations by the glob patterns in one claim of the principal. */
public final class TopicsClaimAuthorizer implements Authorizer {

  private final String claimName;

  public TopicsClaimAuthorizer(String claimName) {
    this.claimName = Objects.requireNonNull(claimName, "claimName");
  }

  @Override
  public boolean maySend(Principal principal, String toUser) {
    return true;
  }

  @Override
  public boolean maySubscribe(Principal principal, String topic) {
    return matchesAny(principal.claim(claimName), topic);
  }

  @Override
  public boolean mayPublish(Principal principal, String topic) {
    return matchesAny(principal.claim(claimName), topic);
  }

  static boolean matchesAny(Object claim, String topic) {
    if (claim instanceof String pattern) {
      return GlobPattern.matches(pattern, topic);
    }
    if (claim instanceof Collection<?> patterns) {
      for (Object pattern : patterns) {
        if (pattern instanceof String p && GlobPattern.matches(p, topic)) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "TopicsClaimAuthorizer{claim=" + claimName + "}";
  }
}
