package dev.brook.tests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on a loopback port that makes every new connection slow to open: it accepts at once
 * but forwards nothing, either way, until {@code delay} has passed, so a client's handshake waits
 * that long. With {@code upstreamPort} 0 it never forwards (a server that accepts and never
 * answers). Counts the connections it accepted.
 */
public final class DelayProxy implements AutoCloseable {

  private final ServerSocket server;
  private final int upstreamPort;
  private final Duration delay;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private final Thread acceptor;
  private volatile boolean closed;

  public DelayProxy(int upstreamPort, Duration delay) {
    this.upstreamPort = upstreamPort;
    this.delay = delay;
    try {
      server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = Thread.ofVirtual().name("delay-proxy").start(this::acceptLoop);
  }

  /** A server that accepts connections and never answers. */
  public static DelayProxy blackHole() {
    return new DelayProxy(0, Duration.ZERO);
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      sockets.add(client);
      accepted.incrementAndGet();
      if (upstreamPort != 0) {
        Thread.ofVirtual().name("delay-proxy-conn").start(() -> forward(client));
      }
    }
  }

  private void forward(Socket client) {
    try {
      Thread.sleep(delay); // the delay under test, not synchronisation
      Socket upstream = new Socket();
      sockets.add(upstream);
      upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort));
      Thread back = Thread.ofVirtual().start(() -> pump(upstream, client));
      pump(client, upstream);
      back.join();
    } catch (IOException | InterruptedException e) {
      closeQuietly(client);
    }
  }

  /** Copies until either side closes, then closes both. */
  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // one side closed
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
    sockets.remove(s);
  }

  @Override
  public void close() throws InterruptedException {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Socket s : sockets) {
      closeQuietly(s);
    }
    acceptor.join();
  }
}
