package dev.brook.tests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A replication link that lags: a loopback TCP proxy to {@code upstreamPort} that forwards what the
 * upstream (a primary) sends only {@code delay} after it arrived, and what the client (a replica)
 * sends at once. What is still held when the upstream goes away is dropped, with every socket: the
 * part of the replication stream a lagging replica had not received when its primary died. One
 * virtual thread per direction and connection; {@link #close()} ends them all.
 */
final class LaggingLink implements AutoCloseable {

  private record Chunk(long due, byte[] bytes) {}

  private final ServerSocket server;
  private final int upstreamPort;
  private final long delayNanos;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean closed;

  LaggingLink(int upstreamPort, Duration delay) throws IOException {
    this.upstreamPort = upstreamPort;
    this.delayNanos = delay.toNanos();
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = Thread.ofVirtual().name("lagging-link").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream;
        try {
          upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        } catch (IOException refused) {
          client.close(); // the primary is gone
          continue;
        }
        sockets.add(client);
        sockets.add(upstream);
        LinkedBlockingQueue<Chunk> held = new LinkedBlockingQueue<>();
        Thread.ofVirtual().name("lagging-link-up").start(() -> pump(client, upstream));
        Thread.ofVirtual().name("lagging-link-hold").start(() -> hold(upstream, held, client));
        Thread.ofVirtual().name("lagging-link-down").start(() -> release(held, client, upstream));
      } catch (IOException e) {
        if (!closed) {
          continue;
        }
        return;
      }
    }
  }

  /** Client to upstream, at once. */
  private void pump(Socket from, Socket to) {
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException gone) {
      // either side closed
    } finally {
      quietly(from, to);
    }
  }

  /** Upstream into the queue, stamped with when it may go on; at the upstream's end, drops the rest. */
  private void hold(Socket upstream, LinkedBlockingQueue<Chunk> held, Socket client) {
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = upstream.getInputStream()) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        held.add(new Chunk(System.nanoTime() + delayNanos, java.util.Arrays.copyOf(buffer, n)));
      }
    } catch (IOException gone) {
      // the primary died or the link closed
    } finally {
      held.clear();
      quietly(upstream, client);
    }
  }

  /** The queue to the client, each chunk when it is due. */
  private void release(LinkedBlockingQueue<Chunk> held, Socket client, Socket upstream) {
    try (OutputStream out = client.getOutputStream()) {
      while (!client.isClosed()) {
        Chunk c = held.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        if (c == null) {
          continue;
        }
        long wait = c.due() - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        if (client.isClosed() || upstream.isClosed()) {
          return; // the upstream died meanwhile: what it had sent is dropped
        }
        out.write(c.bytes());
        out.flush();
      }
    } catch (IOException | InterruptedException gone) {
      // closed
    } finally {
      quietly(upstream, client);
    }
  }

  private void quietly(Socket... all) {
    for (Socket s : all) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
      sockets.remove(s);
    }
  }

  @Override
  public void close() throws Exception {
    closed = true;
    server.close();
    sockets.forEach(this::quietly);
    acceptor.join();
  }
}
