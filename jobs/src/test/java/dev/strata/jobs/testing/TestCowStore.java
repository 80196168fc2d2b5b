package dev.strata.jobs.testing;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/** Metadata of {@code test-cow} images, kept in memory by absolute path for the test JVM's life. */
public final class TestCowStore {

    static final class Image {
        final long size;
        final BitSet allocated = new BitSet();
        final ReentrantLock lock = new ReentrantLock();
        volatile String backingName;
        volatile String backingFormat;

        Image(long size, String backingName, String backingFormat) {
            this.size = size;
            this.backingName = backingName;
            this.backingFormat = backingFormat;
        }
    }

    private static final Map<Path, Image> IMAGES = new ConcurrentHashMap<>();

    private TestCowStore() {
    }

    static Image get(Path p) {
        return IMAGES.get(p.toAbsolutePath().normalize());
    }

    static void put(Path p, Image i) {
        IMAGES.put(p.toAbsolutePath().normalize(), i);
    }

    /** The backing name recorded for an image, as a test checks it after a stream. */
    public static String backingName(Path p) {
        Image i = get(p);
        return i == null ? null : i.backingName;
    }

    public static String backingFormat(Path p) {
        Image i = get(p);
        return i == null ? null : i.backingFormat;
    }
}
