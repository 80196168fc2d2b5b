package dev.strata.blockdrv.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The byte stream under one NBD connection: a socket channel, plain or wrapped in TLS. One reader
 * thread calls {@link #read}; any thread may call {@link #write}, which takes {@link #writeLock()}
 * so a reply goes out whole even when several request threads answer at once.
 */
public interface NbdTransport extends AutoCloseable {

    /** Reads at least one byte into {@code dst}, blocking; -1 at end of stream. Reader thread only. */
    int read(ByteBuffer dst) throws IOException;

    /** Writes every remaining byte of {@code srcs} as one unit (one gathering write when it fits). */
    void write(ByteBuffer... srcs) throws IOException;

    /** The lock that serialises writers; exposed so a caller can keep several writes together. */
    ReentrantLock writeLock();

    /** The socket underneath. */
    SocketChannel channel();

    /** Makes the reader see end of stream (the peer may still receive replies in flight). */
    default void shutdownInput() {
        try {
            channel().shutdownInput();
        } catch (IOException e) {
            close();
        }
    }

    /**
     * Shuts both directions: the reader sees end of stream and a writer blocked on a client that
     * stopped reading fails at once (QEMU's forced client close).
     */
    default void shutdownBoth() {
        try {
            channel().shutdownInput();
            channel().shutdownOutput();
        } catch (IOException e) {
            close();
        }
    }

    /** Closes the socket, ignoring a failure: a broken socket has nothing left to report. */
    static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /** Closes the connection; idempotent, any thread. */
    @Override
    void close();
}
