package dev.strata.harness.bench;

import java.nio.file.Path;

/**
 * The shaped link of {@link MigrateBench}: source and destination in two network namespaces,
 * 1 Gbit/s with 5 ms each way. Needs the two-host fixture of {@code dev.strata.harness.net}.
 */
final class ShapedLink {

    /** The link's rate. */
    static final long RATE_BITS_PER_SECOND = 1_000_000_000L;

    private ShapedLink() {
    }

    static MigrationLink open(Path dir) throws MigrationLink.Unavailable {
        throw new MigrationLink.Unavailable("the two-host fixture (dev.strata.harness.net) is not in this build yet");
    }
}
