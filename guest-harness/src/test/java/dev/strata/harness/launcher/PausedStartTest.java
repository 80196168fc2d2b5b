package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.strata.harness.guest.GuestDisk;
import dev.strata.harness.torture.QmpLink;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code -S} (QEMU: every machine comes up paused with its monitors serving, the guest starts at
 * {@code cont}) and the plain start, for every device kind, with and without a guest workload.
 * Judged over a real QMP socket: the socket exists once assembly returns, {@code query-status}
 * says {@code prelaunch}, the device saw no request before {@code cont}, and the guest's disk
 * works after it.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PausedStartTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final long SIZE = 4 << 20;

    @TempDir
    Path dir;

    /** The device kinds: the disk options on the command line and the drive id the guest sees. */
    static Stream<Arguments> machines() {
        List<Arguments> all = new ArrayList<>();
        String[][] kinds = {
            {"virtio", "if=virtio", "", "virtio0"},
            {"ide", "if=ide", "", "ide0-hd0"},
            {"ide-hd", "if=none,id=d0", "ide-hd,drive=d0", "d0"},
            {"virtio-blk-pci", "if=none,id=d0", "virtio-blk-pci,drive=d0", "d0"},
        };
        for (String[] k : kinds) {
            for (boolean paused : new boolean[] {true, false}) {
                for (boolean guest : new boolean[] {true, false}) {
                    all.add(Arguments.of(k[0], k[1], k[2], k[3], paused, guest));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} -S={4} -guest={5}")
    @MethodSource("machines")
    void comesUpWithItsMonitorServingAndTheGuestStartsAtCont(String kind, String driveIf, String device, String drive,
                                                            boolean paused, boolean guest) throws Exception {
        Path img = dir.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        Path sock = dir.resolve("q.sock");
        List<String> args = new ArrayList<>(List.of("-machine", "pc", "-nodefaults", "-display", "none",
                "-drive", "file=" + img + ",format=raw," + driveIf, "-qmp", "unix:" + sock + ",server=on,wait=off"));
        if (!device.isEmpty()) {
            args.addAll(List.of("-device", device));
        }
        if (paused) {
            args.add("-S");
        }
        if (guest) {
            args.addAll(List.of("-guest", "drive=" + drive + ",rw=randrw,bs=4k,iodepth=1,verify=on"));
        }
        MachineConfig config = new CommandLineParser().parse(args);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<StrataMachine> assembly = CompletableFuture.supplyAsync(() -> new MachineBuilder(
                new ByteArrayInputStream(new byte[0]), new PrintStream(out, true), new PrintStream(out, true)).build(config));
        StrataMachine m;
        try {
            m = assembly.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("machine assembly did not return (" + kind + (paused ? ", -S" : "") + "): a device or guest driver waits for the vCPUs");
            return;
        }
        try (m; QmpLink q = QmpLink.connect(sock, WAIT)) {
            assertTrue(Files.exists(sock));
            String status = q.call("{\"execute\": \"query-status\"}", WAIT);
            if (paused) {
                assertEquals("{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}}", status);
                assertEquals(0, operations(m, drive), "a paused guest issues nothing");
                assertEquals("{\"return\": {}}", q.call("{\"execute\": \"cont\"}", WAIT));
            }
            assertEquals("running", QmpLink.field(q.call("{\"execute\": \"query-status\"}", WAIT), "status"));
            GuestDisk disk = m.guest().disk(drive);
            assertEquals(SIZE, disk.capacity(), "the guest's driver probed the disk once it ran");
            long deadline = System.nanoTime() + WAIT.toNanos();
            if (guest) {
                while (m.guest().workloads().isEmpty() || m.guest().workloads().get(0).result().writes() < 5) {
                    assertTrue(System.nanoTime() < deadline, "the guest workload did no I/O after cont");
                    Thread.sleep(20);
                }
            }
            assertTrue(operations(m, drive) > 0 || !guest);
        }
        if (guest) {
            assertTrue(out.toString().contains("OK, no failures"), out.toString());
        }
    }

    private static long operations(StrataMachine m, String drive) {
        return m.deviceStats(drive).map(s -> s.rdOperations() + s.wrOperations() + s.flushOperations()).orElse(-1L);
    }
}
