package dev.strata.harness.bench.jobs;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the host itself can do for a job's copy, measured on the same files and disk as the jobs
 * (the yardsticks of {@link JobsLimitBench}):
 * <ul>
 * <li>{@link #durableCopy}: {@code dd conv=fdatasync} in Java: {@code bytes} from a source that is
 *     in the page cache to a new file with ordinary writes, then {@code fdatasync}; what a
 *     cache=writeback job that ends durable cannot beat by much;
 * <li>{@link #directCopy}: the same bytes read and written with O_DIRECT, {@code depth} 1 MiB
 *     chunks in flight (one thread each), then {@code fdatasync} (the new file's allocation);
 *     {@link #bestDepth} finds the depth where it is fastest. What a cache=none job can reach.
 * </ul>
 * Both wrap around the source when it is shorter than {@code bytes}. Single-threaded callers.
 */
final class HostLimits {

    static final int CHUNK = 1 << 20;
    private static final int ALIGN = 4096;

    private HostLimits() {
    }

    /** Nanoseconds for a buffered copy of {@code bytes} ending in fdatasync; the source is read once first (cached). */
    static long durableCopy(Path src, Path dst, long bytes) throws IOException {
        warm(src);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long start = System.nanoTime();
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long wrap = in.size() / CHUNK * CHUNK;
            for (long done = 0; done < bytes; done += CHUNK) {
                buf.clear().limit((int) Math.min(CHUNK, bytes - done));
                readFully(in, buf, done % wrap);
                buf.flip();
                while (buf.hasRemaining()) {
                    out.write(buf, done + buf.position());
                }
            }
            out.force(false);
        }
        return System.nanoTime() - start;
    }

    /** Nanoseconds for an O_DIRECT copy of {@code bytes} with {@code depth} chunks in flight, ending in fdatasync. */
    static long directCopy(Path src, Path dst, long bytes, int depth) throws IOException, InterruptedException {
        Files.deleteIfExists(dst);
        Files.createFile(dst);
        ExecutorService pool = Executors.newFixedThreadPool(depth);
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT)) {
            long wrap = in.size() / CHUNK * CHUNK;
            long chunks = (bytes + CHUNK - 1) / CHUNK;
            AtomicLong next = new AtomicLong();
            long start = System.nanoTime();
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < depth; t++) {
                workers.add(pool.submit(() -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK + ALIGN).alignedSlice(ALIGN).limit(CHUNK);
                    try {
                        for (long c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                            // the callers' byte counts are whole clusters, so a short last chunk stays aligned
                            buf.clear().limit((int) Math.min(CHUNK, bytes - c * CHUNK));
                            readFully(in, buf, c * CHUNK % wrap);
                            buf.flip();
                            while (buf.hasRemaining()) {
                                out.write(buf, c * CHUNK + buf.position());
                            }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
            out.force(false);
            return System.nanoTime() - start;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("O_DIRECT copy failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
            Files.deleteIfExists(dst);
        }
    }

    /** The queue depth (of 1, 2, 4, 8, 16) at which an O_DIRECT copy of {@code bytes} is fastest; prints the sweep. */
    static int bestDepth(Path src, Path dst, long bytes) throws IOException, InterruptedException {
        int best = 1;
        double bestRate = 0;
        StringBuilder line = new StringBuilder("O_DIRECT copy of " + (bytes >> 20) + " MiB by queue depth:");
        for (int depth : new int[] {1, 2, 4, 8, 16}) {
            long ns = directCopy(src, dst, bytes, depth);
            double rate = bytes / 1e6 / (ns / 1e9);
            line.append(String.format(" %d: %.0f MB/s;", depth, rate));
            if (rate > bestRate) {
                bestRate = rate;
                best = depth;
            }
        }
        System.out.println(line + " best " + best);
        return best;
    }

    private static void readFully(FileChannel in, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = in.read(buf, pos + buf.position());
            if (n <= 0) {
                throw new IOException("source ended at " + (pos + buf.position()));
            }
        }
    }

    private static void warm(Path src) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ)) {
            while (in.read(buf) > 0) {
                buf.clear();
            }
        }
    }
}
