package dev.strata.monitor.qemuio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import dev.strata.monitor.hmp.HmpInterpreter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class QemuIoTest {

    static final String TIMING = "[\\d.]+ (bytes|KiB|MiB|GiB), 1 ops; (\\d\\d\\.\\d\\d sec|\\d+:\\d\\d:\\d\\d\\.\\d\\d) \\([\\d.]+ (bytes|KiB|MiB|GiB|TiB)/sec and [\\d.]+ ops/sec\\)";

    @TempDir
    Path dir;
    TestMachine machine;
    HmpInterpreter hmp;
    Path raw;

    @BeforeEach
    void setUp() throws Exception {
        machine = new TestMachine(dir);
        raw = dir.resolve("R.img");
        try (var f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        machine.addDrive("virtio0", raw, "raw");
        hmp = machine.monitor().hmp();
    }

    @AfterEach
    void tearDown() {
        machine.graph().closeAll();
    }

    private String io(String cmd) {
        return hmp.executeNow("qemu-io virtio0 \"" + cmd + "\"");
    }

    private static void report(String expectedFirst, String out) {
        String[] l = out.split("\n");
        assertEquals(2, l.length, out);
        assertEquals(expectedFirst, l[0]);
        assertTrue(l[1].matches(TIMING), l[1]);
    }

    @Test
    void readWriteDiscardFlush() throws Exception {
        report("wrote 65536/65536 bytes at offset 0", io("write -P 0xab 0 64k"));
        report("read 65536/65536 bytes at offset 0", io("read -P 0xab 0 64k"));
        String bad = io("read -P 0xcd 0 64k");
        assertTrue(bad.startsWith("Pattern verification failed at offset 0, 65536 bytes\nread 65536/65536 bytes at offset 0\n"), bad);
        report("read 1000/1000 bytes at offset 512", io("read -P 171 512 1000"));
        report("wrote 4096/4096 bytes at offset 4096", io("write -z 4096 4096"));
        report("discard 4096/4096 bytes at offset 0", io("discard 0 4k"));
        assertEquals("", io("flush"));
        assertEquals("", io("write -q -P 1 0 1"));
        assertEquals("00000000:  01  .\nread 1/1 bytes at offset 0\n", io("read -v 0 1").replaceAll("\n[^\n]*ops/sec\\)\n$", "\n"));
        byte[] disk = Files.readAllBytes(raw);
        assertEquals(1, disk[0]);
        assertEquals((byte) 0xab, disk[4095]);
        assertEquals(0, disk[4096]);
        assertEquals(0, disk[8191]);
        assertEquals((byte) 0xab, disk[8192]);
    }

    @Test
    void qemuIoMessages() {
        assertEquals("read failed: Input/output error\n", io("read 0 2M"));
        assertEquals("write failed: Input/output error\n", io("write 1M 1"));
        assertEquals("300 is not a valid pattern byte\n", io("write -P 300 0 1"));
        assertEquals("ab is not a valid pattern byte\n", io("read -P ab 0 1"));
        assertEquals("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- x\n", io("read x 1"));
        assertEquals("bad argument count 1 to read, expected at least 2 arguments\n", io("read 0"));
        assertEquals("bad argument count 1 to flush, expected 0 arguments\n", io("flush 1"));
        assertEquals("command \"bogus\" not found\n", io("bogus"));
        assertEquals("Only one of -z, -P, and -s can be specified at the same time\n", io("write -z -P 1 0 1"));
        assertEquals("read: invalid option -- '1'\nread [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset\n",
                io("read 0 -1"));
        assertEquals("length cannot exceed 2147483136, given 3G\n", io("read 0 3G"));
        assertEquals("Error: Cannot find device='' nor node-name='nosuch'\n", hmp.executeNow("qemu-io nosuch \"read 0 1\""));
        assertEquals("qemu-io: string expected\nTry \"help qemu-io\" for more information\n", hmp.executeNow("qemu-io virtio0"));
        assertEquals("qemu-io: extraneous characters at the end of line\nTry \"help qemu-io\" for more information\n",
                hmp.executeNow("qemu-io virtio0 read 0 1"));
        String node = machine.graph().backend("virtio0").root().nodeName();
        report("read 512/512 bytes at offset 0", hmp.executeNow("qemu-io " + node + " \"read 0 512\""));
    }
}
