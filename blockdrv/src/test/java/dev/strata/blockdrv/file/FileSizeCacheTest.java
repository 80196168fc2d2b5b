package dev.strata.blockdrv.file;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file driver caches the file's length instead of asking the host on every request; these
 * tests pin down when the cached value must change: growth through this driver, growth through
 * another driver on the same file in this process, resize both ways, and files without locks
 * (another process may change them) which are always asked afresh.
 */
@Timeout(60)
class FileSizeCacheTest {

    @TempDir
    Path dir;

    private Path file(long size) throws IOException {
        Path p = dir.resolve("f.img");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            if (size > 0) {
                ch.write(ByteBuffer.allocate(1), size - 1);
            }
        }
        return p;
    }

    @Test
    void writePastTheEndGrowsTheCachedSize() throws IOException {
        Path p = file(4096);
        FileDriver d = new FileDriver(p.toString(), false, true, true);
        try {
            assertEquals(4096, d.size());
            d.write(10_000, ByteBuffer.allocate(100));
            assertEquals(10_100, d.size());
            d.write(0, ByteBuffer.allocateDirect(200 << 10)); // a large write takes the write gate
            assertEquals(200 << 10, d.size());
            assertEquals(Files.size(p), d.size());
        } finally {
            d.close();
        }
    }

    @Test
    void growthThroughAnotherDriverOnTheSameFileIsSeen() throws IOException {
        Path p = file(65536);
        // a locked writer and a second writer without locks share one channel and one size
        FileDriver a = new FileDriver(p.toString(), false, true, true);
        FileDriver b = new FileDriver(p.toString(), false, false, false);
        try {
            assertEquals(65536, a.size());
            assertEquals(65536, b.size());
            b.write(1 << 20, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            assertEquals((1 << 20) + 3, a.size());
            b.resize(4096);
            assertEquals(4096, a.size());
            a.resize(1 << 22);
            assertEquals(1 << 22, b.size());
            assertEquals(Files.size(p), a.size());
        } finally {
            b.close();
            a.close();
        }
    }

    @Test
    void aReaderSharingTheFileWithOthersAsksTheHostEveryTime() throws IOException {
        Path p = file(8192);
        // read-only and sharing write: another process may grow the file at any time
        FileDriver d = new FileDriver(p.toString(), true, false, true);
        try {
            assertEquals(8192, d.size());
            try (FileChannel other = FileChannel.open(p, StandardOpenOption.WRITE)) {
                other.write(ByteBuffer.allocate(1), 99_999);
            }
            assertEquals(100_000, d.size());
        } finally {
            d.close();
        }
    }

    @Test
    void theCacheStartsAfreshWhenLocksAreTaken() throws IOException {
        Path p = file(8192);
        FileDriver sharing = new FileDriver(p.toString(), true, false, true);
        try {
            assertEquals(8192, sharing.size());
            try (FileChannel other = FileChannel.open(p, StandardOpenOption.WRITE)) {
                other.write(ByteBuffer.allocate(1), 16_383);
            }
            // a writer joins: from now on the size is cached, starting from the host's value
            FileDriver writer = new FileDriver(p.toString(), false, true, true);
            try {
                assertEquals(16_384, writer.size());
                writer.write(16_384, ByteBuffer.allocate(16_384));
                assertEquals(32_768, sharing.size());
            } finally {
                writer.close();
            }
        } finally {
            sharing.close();
        }
    }

    @Test
    void readsPastTheEndStillReadZeros() throws IOException {
        Path p = file(4096);
        FileDriver d = new FileDriver(p.toString(), false, true, true);
        try {
            d.write(0, ByteBuffer.wrap(new byte[] {7, 7, 7, 7}));
            ByteBuffer b = ByteBuffer.allocateDirect(128 << 10);
            d.read(0, b);
            assertEquals(7, b.get(3));
            assertEquals(0, b.get(4096));
            assertEquals(0, b.get((128 << 10) - 1));
        } finally {
            d.close();
        }
    }
}
