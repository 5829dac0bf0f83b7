package io.wsgateway.client.internal;

import io.netty.channel.Channel;
import java.util.concurrent.ScheduledFuture;

/**
 * One connection attempt and, if it got its welcome, the connection. Confined to the client's event
 * loop. Events of an attempt that is no longer the client's current one are ignored.
 */
final class Conn {
  Channel channel;
  boolean welcomed;
  /** The client sent the close frame (reconnect hint, gap, close()); no error is reported for it. */
  boolean closingByUs;
  /** Reconnect at once after this connection closes (a reconnect hint), without backoff. */
  boolean reconnectNow;
  /** A gap was seen: further messages of this connection are not delivered. */
  boolean discarding;
  int closeCode = CloseCodes.ABNORMAL;
  String closeReason = "";
  String failure;
  int rejectStatus;
  String rejectBody;
  ScheduledFuture<?> connectTimer;
  ScheduledFuture<?> forceCloseTimer;
  ScheduledFuture<?> hintTimer;

  void cancelTimers() {
    for (ScheduledFuture<?> f : new ScheduledFuture<?>[] {connectTimer, forceCloseTimer, hintTimer}) {
      if (f != null) {
        f.cancel(false);
      }
    }
  }
}
