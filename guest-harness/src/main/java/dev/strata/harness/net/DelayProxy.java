package dev.strata.harness.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A TCP forwarder that holds every byte for a fixed delay in each direction: the stand-in for
 * {@code netem delay} on kernels without it. Started by {@link TwoHostLink#reach} inside the
 * server's namespace as {@code DelayProxy LISTEN_HOST TARGET_HOST TARGET_PORT DELAY_MICROS}; it
 * prints the port it listens on as its first line and serves until killed.
 *
 * <p>Each connection has two pumps (one per direction), each a reader thread that stamps every
 * chunk with its due time and a writer thread that sends it no earlier. At most
 * {@link #MAX_QUEUED} bytes wait in a pump, so a slow receiver slows the sender down as the
 * network would. Fields of a pump are guarded by its lock.
 */
public final class DelayProxy {

    static final int MAX_QUEUED = 32 << 20;

    private DelayProxy() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: DelayProxy LISTEN_HOST TARGET_HOST TARGET_PORT DELAY_MICROS");
            System.exit(2);
        }
        InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
        long delayNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[3]));
        try (ServerSocket ss = new ServerSocket(0, 64, InetAddress.getByName(args[0]))) {
            System.out.println(ss.getLocalPort());
            System.out.flush();
            while (true) {
                Socket client = ss.accept();
                Thread.ofPlatform().daemon().start(() -> connect(client, target, delayNanos));
            }
        }
    }

    private static void connect(Socket client, InetSocketAddress target, long delayNanos) {
        Socket server = new Socket();
        try {
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
            server.connect(target, 10_000);
            pump(client, server, delayNanos);
            pump(server, client, delayNanos);
        } catch (IOException e) {
            closeQuietly(client);
            closeQuietly(server);
        }
    }

    private static void pump(Socket from, Socket to, long delayNanos) throws IOException {
        Pump p = new Pump(from.getInputStream(), to.getOutputStream(), delayNanos, () -> {
            closeQuietly(from);
            closeQuietly(to);
        }, () -> {
            try {
                to.shutdownOutput();
            } catch (IOException e) {
                closeQuietly(to);
            }
        });
        Thread.ofPlatform().daemon().name("delay-read").start(p::readLoop);
        Thread.ofPlatform().daemon().name("delay-write").start(p::writeLoop);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already gone
        }
    }

    /** One direction of one connection. */
    private static final class Pump {
        private record Chunk(long dueNanos, byte[] data, int length) {
        }

        private final InputStream in;
        private final OutputStream out;
        private final long delayNanos;
        private final Runnable onError;
        private final Runnable onEnd;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
        private long queuedBytes;
        private boolean ended;
        private boolean failed;

        Pump(InputStream in, OutputStream out, long delayNanos, Runnable onError, Runnable onEnd) {
            this.in = in;
            this.out = out;
            this.delayNanos = delayNanos;
            this.onError = onError;
            this.onEnd = onEnd;
        }

        void readLoop() {
            try {
                while (true) {
                    byte[] buf = new byte[64 << 10];
                    int n = in.read(buf);
                    long due = System.nanoTime() + delayNanos;
                    lock.lock();
                    try {
                        if (n < 0) {
                            ended = true;
                            changed.signalAll();
                            return;
                        }
                        while (queuedBytes >= MAX_QUEUED && !failed) {
                            changed.await();
                        }
                        if (failed) {
                            return;
                        }
                        queue.add(new Chunk(due, buf, n));
                        queuedBytes += n;
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
            } catch (IOException | InterruptedException e) {
                fail();
            }
        }

        void writeLoop() {
            try {
                while (true) {
                    Chunk c;
                    lock.lock();
                    try {
                        while (queue.isEmpty() && !ended && !failed) {
                            changed.await();
                        }
                        if (failed) {
                            return;
                        }
                        if (queue.isEmpty()) {
                            onEnd.run();
                            return;
                        }
                        c = queue.peek();
                    } finally {
                        lock.unlock();
                    }
                    long wait;
                    while ((wait = c.dueNanos() - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    out.write(c.data(), 0, c.length());
                    lock.lock();
                    try {
                        queue.poll();
                        queuedBytes -= c.length();
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
            } catch (IOException | InterruptedException e) {
                fail();
            }
        }

        private void fail() {
            lock.lock();
            try {
                failed = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            onError.run();
        }
    }
}
