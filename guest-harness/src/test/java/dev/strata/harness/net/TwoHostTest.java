package dev.strata.harness.net;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.harness.torture.Tools;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every two-host test shares: skipped with the reason where namespaces cannot be made, a
 * fresh link of 1 Gbit/s with 5 ms each way and a {@link MigrationRig} on it before each test
 * (subclasses' own {@code @BeforeEach} run after this one), and both removed after it, also when
 * the test failed.
 */
abstract class TwoHostTest {

    @TempDir
    Path dir;
    TwoHostLink link;
    MigrationRig rig;

    @BeforeAll
    static void needsTwoHosts() {
        assumeTrue(TwoHostLink.unavailableReason().isEmpty(), () -> "two-host tests skipped: " + TwoHostLink.unavailableReason().get());
        assumeTrue(Tools.qemuAvailable(), "qemu-img/qemu-io not installed (.ci/run installs them)");
    }

    @BeforeEach
    void openLink() throws Exception {
        link = TwoHostLink.open(LinkShape.of(1000, 5));
        rig = new MigrationRig(link, dir);
    }

    @AfterEach
    void closeLink() {
        if (rig != null) {
            rig.close();
        }
        if (link != null) {
            link.close();
        }
    }
}
