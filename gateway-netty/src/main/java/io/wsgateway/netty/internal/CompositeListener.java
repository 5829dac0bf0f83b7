package io.wsgateway.netty.internal;

import io.wsgateway.Connection;
import io.wsgateway.GatewayListener;
import io.wsgateway.GatewayState;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Calls several listeners in order; one listener's failure does not stop the others or the gateway. */
final class CompositeListener implements GatewayListener {

  private static final Logger log = LoggerFactory.getLogger(CompositeListener.class);
  private static final GatewayListener NONE = new GatewayListener() {};

  private final GatewayListener[] listeners;

  private CompositeListener(List<GatewayListener> listeners) {
    this.listeners = listeners.toArray(new GatewayListener[0]);
  }

  static GatewayListener of(List<GatewayListener> listeners) {
    return listeners.isEmpty() ? NONE : new CompositeListener(listeners);
  }

  @Override
  public void onConnected(Connection connection) {
    for (GatewayListener l : listeners) {
      try {
        l.onConnected(connection);
      } catch (RuntimeException e) {
        log.warn("listener {} failed in onConnected", l, e);
      }
    }
  }

  @Override
  public void onDisconnected(Connection connection, int code, String reason) {
    for (GatewayListener l : listeners) {
      try {
        l.onDisconnected(connection, code, reason);
      } catch (RuntimeException e) {
        log.warn("listener {} failed in onDisconnected", l, e);
      }
    }
  }

  @Override
  public void onMessageIn(Connection connection, String type) {
    for (GatewayListener l : listeners) {
      try {
        l.onMessageIn(connection, type);
      } catch (RuntimeException e) {
        log.warn("listener {} failed in onMessageIn", l, e);
      }
    }
  }

  @Override
  public void onStateChanged(GatewayState from, GatewayState to) {
    for (GatewayListener l : listeners) {
      try {
        l.onStateChanged(from, to);
      } catch (RuntimeException e) {
        log.warn("listener {} failed in onStateChanged", l, e);
      }
    }
  }

  @Override
  public void onMessageOut(Connection connection, String type) {
    for (GatewayListener l : listeners) {
      try {
        l.onMessageOut(connection, type);
      } catch (RuntimeException e) {
        log.warn("listener {} failed in onMessageOut", l, e);
      }
    }
  }
}
