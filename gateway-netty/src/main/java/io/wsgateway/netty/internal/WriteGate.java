package io.wsgateway.netty.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http.websocketx.WebSocketFrameDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.wsgateway.netty.GatewayOptions;
import io.wsgateway.netty.SlowConsumerPolicy;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The one gate every server frame of a connection passes before it is queued: it enforces the
 * outbound buffer limit and the slow-consumer policy for every kind of frame (messages, acks, errors,
 * pongs, pings, host frames), and stops reading the client while the channel is unwritable, so a client
 * that does not read cannot make the gateway answer without end. Close frames bypass it: they end the
 * connection.
 *
 * <p>Confined to the connection's event loop.
 */
final class WriteGate {

  /** What is about to be written, which decides what happens to it while the client does not read. */
  enum Kind {
    /** A {@code message} frame: queued within the grace period ({@code CLOSE}), or dropped ({@code DROP}). */
    MESSAGE,
    /** An answer or notice (welcome, ack, error, pong, reconnect, host frame): queued up to the limit. */
    REPLY,
    /** A server ping: pointless while the client does not read, so dropped then. */
    PING
  }

  private final Channel channel;
  private final int limit;
  private final SlowConsumerPolicy policy;
  private final long graceNanos;
  private final Runnable onSlowConsumer;
  private ScheduledFuture<?> graceTimer;
  /** Whether reading has stopped for good (the connection is closing): writability no longer resumes it. */
  private boolean stopped;

  /**
   * @param onSlowConsumer closes the connection (at once: its close frame could not pass a full buffer)
   */
  WriteGate(Channel channel, GatewayOptions options, Runnable onSlowConsumer) {
    this.channel = channel;
    this.limit = options.writeBufferLimit();
    this.policy = options.slowConsumerPolicy();
    this.graceNanos = options.slowConsumerGrace().toNanos();
    this.onSlowConsumer = onSlowConsumer;
  }

  /** Whether a frame of {@code kind} may be queued now; if not, the caller drops it. */
  boolean admit(Kind kind) {
    if (channel.isWritable()) {
      return true;
    }
    if (pendingBytes() >= limit) {
      onSlowConsumer.run();
      return false;
    }
    if (kind == Kind.PING || (kind == Kind.MESSAGE && policy == SlowConsumerPolicy.DROP)) {
      return false;
    }
    startGrace();
    return true;
  }

  /**
   * Under {@code CLOSE}, gives an unwritable channel the grace period to drain. Started when the channel
   * turns unwritable (reading is paused then, so there may be no later write to start it) and again on
   * every admission while unwritable, in case that event has not been handled yet.
   */
  private void startGrace() {
    if (policy == SlowConsumerPolicy.CLOSE && graceTimer == null) {
      graceTimer = channel.eventLoop().schedule(() -> {
        graceTimer = null;
        if (!channel.isWritable()) {
          onSlowConsumer.run();
        }
      }, graceNanos, TimeUnit.NANOSECONDS);
    }
  }

  private long pendingBytes() {
    ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
    return buffer == null ? 0 : buffer.totalPendingWriteBytes();
  }

  /**
   * Follows the channel's writability: reading pauses while the client does not take what it is sent
   * (whatever it sends meanwhile waits in its own socket, not in our memory) and resumes when it does.
   */
  void writabilityChanged() {
    boolean writable = channel.isWritable();
    if (writable) {
      cancel();
    } else {
      startGrace();
    }
    if (!stopped) {
      channel.config().setAutoRead(writable);
    }
  }

  /**
   * Stops reading for good: the connection is closing and nothing the client sends matters now. The
   * frame decoder goes too, so what was read but not yet decoded (the rest of a flood's last read, up
   * to thousands of tiny frames) is dropped as one buffer instead of being decoded frame by frame.
   */
  void stopReading() {
    stopped = true;
    channel.config().setAutoRead(false);
    for (Map.Entry<String, ChannelHandler> e : channel.pipeline()) {
      if (e.getValue() instanceof WebSocketFrameDecoder) {
        channel.pipeline().remove(e.getValue()); // may run inside its decode loop: Netty allows it
        break;
      }
    }
  }

  /** Cancels the grace timer (the channel drained, or is gone). */
  void cancel() {
    if (graceTimer != null) {
      graceTimer.cancel(false);
      graceTimer = null;
    }
  }
}
