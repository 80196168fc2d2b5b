package dev.strata.blockdrv.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/** NBD over a plain socket channel (unix or TCP). Thread safety as {@link NbdTransport}. */
final class PlainTransport implements NbdTransport {

    private final SocketChannel channel;
    private final ReentrantLock writeLock = new ReentrantLock();

    PlainTransport(SocketChannel channel) {
        this.channel = channel;
    }

    @Override
    public SocketChannel channel() {
        return channel;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        writeLock.lock();
        try {
            writeAll(channel, srcs);
        } finally {
            writeLock.unlock();
        }
    }

    static void writeAll(SocketChannel channel, ByteBuffer[] srcs) throws IOException {
        int first = 0;
        while (first < srcs.length) {
            if (!srcs[first].hasRemaining()) {
                first++;
                continue;
            }
            channel.write(srcs, first, srcs.length - first);
        }
    }

    @Override
    public ReentrantLock writeLock() {
        return writeLock;
    }

    @Override
    public void close() {
        NbdTransport.closeQuietly(channel);
    }
}
