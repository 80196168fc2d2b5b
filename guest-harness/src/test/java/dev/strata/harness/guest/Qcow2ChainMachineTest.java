package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A verifying guest on a qcow2 chain made by the real qemu-img ({@code base <- mid <- top}, base
 * with data of its own), then {@code qemu-img check} on the result. Needs qemu-utils (CI installs
 * it); says so loudly and skips only when qemu-img is truly absent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Qcow2ChainMachineTest {

    @TempDir
    Path dir;

    static boolean haveQemuImg() {
        try {
            return new ProcessBuilder("qemu-img", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    @Test
    void shouldRunAVerifyingWorkloadOnAQcow2ChainAndLeaveItClean() throws Exception {
        if (!haveQemuImg()) {
            System.err.println("*** Qcow2ChainMachineTest SKIPPED: qemu-img not installed (apt-get install qemu-utils) ***");
        }
        assumeTrue(haveQemuImg(), "qemu-img is not installed");
        run(dir, "qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "32M");
        run(dir, "qemu-io", "-c", "write -P 0xaa 0 4M", "base.qcow2");
        run(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
        run(dir, "qemu-io", "-c", "write -P 0xbb 2M 4M", "mid.qcow2");
        run(dir, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
        try (TestMachine m = new TestMachine()) {
            m.virtio("virtio0", "file=" + dir.resolve("top.qcow2"), o -> o);
            assertEquals(2, m.graph.backend("virtio0").root().chainDepth());
            List<Workload> ws = List.of(
                    m.guest.start(WorkloadSpec.parse("rw=randrw,bs=4k,iodepth=8,runtime=3,verify=on,fsync=100,size=16M")),
                    m.guest.start(WorkloadSpec.parse("rw=randwrite,bs=64k,iodepth=4,runtime=3,verify=on,offset=16M,size=8M")),
                    m.guest.start(WorkloadSpec.parse("rw=randread,bs=16k,iodepth=2,runtime=3,verify=on,offset=24M")));
            for (Workload w : ws) {
                assertTrue(w.await(Duration.ofSeconds(60)));
                System.out.println(w.result().format());
                assertEquals(0, w.result().errors());
                assertTrue(w.result().reads() + w.result().writes() > 50);
            }
            VerifyReport r = m.guest.verifyAll().get(0);
            System.out.println(r.describe());
            assertTrue(r.ok(), r.describe());
        }
        String check = run(dir, "qemu-img", "check", "top.qcow2");
        assertTrue(check.contains("No errors were found"), check);
        assertTrue(Files.size(dir.resolve("top.qcow2")) > 1 << 20);
    }
}
