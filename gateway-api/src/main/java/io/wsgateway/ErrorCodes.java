package io.wsgateway;

/**
 * The {@code code} values of the protocol's {@code error} frames and of {@link GatewayException}.
 * Part of the protocol contract: clients may switch on them.
 */
public final class ErrorCodes {

  /** The frame was not a JSON object, or lacked a required field. */
  public static final String MALFORMED = "malformed";
  /** A reserved {@code type} the gateway does not know, or no host handler for a custom type. */
  public static final String UNKNOWN_TYPE = "unknown_type";
  /** The authorizer refused the operation. */
  public static final String NOT_AUTHORIZED = "not_authorized";
  /** The addressee has no connection on any instance. */
  public static final String USER_OFFLINE = "user_offline";
  /** The client sent more messages than its rate limit allows. */
  public static final String RATE_LIMITED = "rate_limited";
  /** A per-connection limit (such as the number of subscriptions) would be exceeded. */
  public static final String LIMIT_EXCEEDED = "limit_exceeded";
  /** The connection registry cannot be reached. */
  public static final String REGISTRY_UNAVAILABLE = "registry_unavailable";
  /** The message broker cannot take the message. */
  public static final String BROKER_UNAVAILABLE = "broker_unavailable";
  /**
   * The recovery store cannot be reached, so the message was not sent: it can neither be kept for
   * the addressee's resume nor ordered. It may still arrive (the store may have taken it before it
   * failed to answer).
   */
  public static final String STORE_UNAVAILABLE = "store_unavailable";
  /** A refreshed token was invalid or for another user. */
  public static final String INVALID_TOKEN = "invalid_token";
  /**
   * A subscription the client held is no longer allowed (re-checked on resume and on {@code refresh})
   * and was dropped; the frame's {@code topic} names it.
   */
  public static final String SUBSCRIPTION_REVOKED = "subscription_revoked";
  /** The instance is draining or closing. */
  public static final String UNAVAILABLE = "unavailable";
  /** An unexpected server failure. */
  public static final String INTERNAL = "internal";

  private ErrorCodes() {}
}
