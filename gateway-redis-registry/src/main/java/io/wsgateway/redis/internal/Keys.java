package io.wsgateway.redis.internal;

import io.wsgateway.registry.RegisteredConnection;

/**
 * The registry's key layout, in one place (docs/registry.md describes it).
 *
 * <ul>
 *   <li>{@code {prefix}u:{<userId>}}: hash, connection id -> {@code instanceId:epoch}. Hash-tagged on
 *       the user, so each per-user operation touches one key in one cluster slot.
 *   <li>{@code {prefix}i:{<instanceId>}}: string, the epoch of the live incarnation of the
 *       instance, with a TTL refreshed by its heartbeat. The only keys that expire.
 *   <li>{@code {prefix}c:{<instanceId>}:<epoch>}: set of {@link #member members}, the connections
 *       one incarnation registered; what a sweep walks when it dies, instead of scanning users.
 *   <li>{@code {prefix}instances}: hash, {@code instanceId:epoch} -> status; every incarnation not
 *       yet swept. Small: one field per live or not-yet-swept instance incarnation.
 * </ul>
 */
final class Keys {

  private final String prefix;
  private final String directory;

  Keys(String prefix) {
    this.prefix = prefix;
    this.directory = prefix + "instances";
  }

  String user(String userId) {
    return prefix + "u:{" + userId + "}";
  }

  String liveness(String instanceId) {
    return prefix + "i:{" + instanceId + "}";
  }

  String index(String instanceId, String epoch) {
    return prefix + "c:{" + instanceId + "}:" + epoch;
  }

  String directory() {
    return directory;
  }

  /** A user-hash value or directory field: which incarnation of which instance. */
  static String entry(String instanceId, String epoch) {
    return instanceId + ':' + epoch;
  }

  /** The instance id of an {@link #entry}; epochs hold no ':', instance ids may. */
  static String instanceOf(String entry) {
    int sep = entry.lastIndexOf(':');
    return sep < 0 ? entry : entry.substring(0, sep);
  }

  /** The epoch of an {@link #entry}, or "" if it has none. */
  static String epochOf(String entry) {
    int sep = entry.lastIndexOf(':');
    return sep < 0 ? "" : entry.substring(sep + 1);
  }

  /**
   * An index member: the user id, length-prefixed so any characters may appear in either id, then
   * the connection id.
   */
  static String member(RegisteredConnection c) {
    return c.userId().length() + ":" + c.userId() + c.connectionId();
  }

  /** {userId, connectionId} of a {@link #member}, or null if it is not one. */
  static String[] parseMember(String member) {
    int sep = member.indexOf(':');
    if (sep <= 0) {
      return null;
    }
    int length;
    try {
      length = Integer.parseInt(member, 0, sep, 10);
    } catch (NumberFormatException e) {
      return null;
    }
    int userEnd = sep + 1 + length;
    if (length < 0 || userEnd > member.length()) {
      return null;
    }
    return new String[] {member.substring(sep + 1, userEnd), member.substring(userEnd)};
  }
}
