package dev.strata.monitor.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.monitor.CommandException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which error a command reports when several of its arguments are wrong: QEMU 7.2's order of
 * checks for mirror, backup, commit, stream and snapshots. Every row below was run against QEMU
 * 7.2 on the same graph ({@link BlockdevChain}; {@code @} stands for the image directory) and the
 * expected class and text are QEMU's replies, copied. Rows that failed before: sync-mode and
 * bitmap checks came before the device lookup and the target image, blockdev-mirror named its
 * missing target {@code device=''}, blockdev-backup onto its own source started a job that never
 * ended, block-commit accepted a node in the middle of a chain, stream's {@code bottom} had the
 * wrong text, the image-lock hint was part of the QMP text, and {@code snapshot_blkdev} onto the
 * active image's own file answered with the image lock instead of QEMU's same-filename error.
 */
@Timeout(120)
class ErrorPrecedenceTest {

    private static final String[][] QEMU_72 = {
        {"drive-mirror", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"@T3.qcow2\"}", "GenericError", "Cannot find device='nosuch' nor node-name='nosuch'"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"incremental\",\"target\":\"@T3.qcow2\",\"granularity\":100}", "GenericError", "Parameter 'granularity' expects a value in range [512B, 64MB]"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"@T4.qcow2\",\"granularity\":100,\"format\":\"nosuch\"}", "GenericError", "Unknown file format 'nosuch'"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"@T5.qcow2\",\"granularity\":100,\"buf-size\":-1}", "GenericError", "Parameter 'granularity' expects a value in range [512B, 64MB]"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"sync\":\"full\",\"target\":\"@T6.qcow2\",\"buf-size\":-1}", "GenericError", "Invalid parameter 'buf-size'"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"top\",\"target\":\"@B.qcow2\"}", "GenericError", "Failed to get \"write\" lock"},
        {"drive-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"@C.qcow2\"}", "GenericError", "Failed to get \"write\" lock"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"nosuch\",\"granularity\":100}", "GenericError", "Cannot find device='nosuch' nor node-name='nosuch'"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"sync\":\"full\",\"target\":\"nt\",\"buf-size\":-1}", "GenericError", "Invalid parameter 'buf-size'"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"nt\",\"replaces\":\"nosuch\"}", "GenericError", "Failed to find node with node-name='nosuch'"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"drive0\",\"granularity\":3}", "GenericError", "Parameter 'granularity' expects a value in range [512B, 64MB]"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"nA\"}", "GenericError", "Node 'nA' is busy: node is used as backing hd of 'nB'"},
        {"blockdev-mirror", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"drive0\"}", "GenericError", "Can't mirror node into itself"},
        {"drive-backup", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"@T7.qcow2\"}", "GenericError", "Cannot find device='nosuch' nor node-name='nosuch'"},
        {"drive-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"@T8.qcow2\",\"format\":\"nosuch\"}", "GenericError", "Unknown file format 'nosuch'"},
        {"drive-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"incremental\",\"bitmap-mode\":\"never\",\"target\":\"@T9.qcow2\"}", "GenericError", "must provide a valid bitmap name for 'incremental' sync mode"},
        {"drive-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"bitmap-mode\":\"never\",\"target\":\"@T10.qcow2\",\"compress\":true,\"format\":\"raw\"}", "GenericError", "Cannot specify bitmap sync mode without a bitmap"},
        {"drive-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"top\",\"target\":\"@B.qcow2\"}", "GenericError", "Failed to get \"write\" lock"},
        {"blockdev-backup", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"nosuch2\"}", "GenericError", "Cannot find device='nosuch' nor node-name='nosuch'"},
        {"blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"nosuch2\"}", "GenericError", "Cannot find device='nosuch2' nor node-name='nosuch2'"},
        {"blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"bitmap\",\"target\":\"nt\",\"bitmap-mode\":\"never\"}", "GenericError", "must provide a valid bitmap name for 'bitmap' sync mode"},
        {"blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"drive0\"}", "GenericError", "Source and target cannot be the same"},
        {"blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"j\",\"sync\":\"full\",\"target\":\"nt\",\"compress\":true}", "GenericError", "Compression is not supported for this drive "},
        {"blockdev-backup", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"sync\":\"bitmap\",\"target\":\"nt\"}", "GenericError", "must provide a valid bitmap name for 'bitmap' sync mode"},
        {"block-commit", "{\"device\":\"nB\",\"job-id\":\"j\"}", "GenericError", "Need a root block node"},
        {"block-commit", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"top\":\"x\",\"top-node\":\"y\"}", "DeviceNotFound", "Device 'nosuch' not found"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"base-node\":\"drive0\"}", "GenericError", "cannot commit an image into itself"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"top-node\":\"nB\",\"base-node\":\"nB\"}", "GenericError", "cannot commit an image into itself"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"top-node\":\"nA\"}", "GenericError", "cannot commit an image into itself"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"top-node\":\"nosuch\",\"base\":\"x\",\"base-node\":\"y\"}", "GenericError", "Cannot find device='' nor node-name='nosuch'"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"top\":\"B.qcow2\",\"base\":\"x\",\"base-node\":\"y\"}", "GenericError", "'base-node' and 'base' are mutually exclusive"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"j\",\"backing-file\":\"x\"}", "GenericError", "'backing-file' specified, but 'top' is the active layer"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"speed\":-1}", "GenericError", "Invalid job ID '1bad'"},
        {"block-commit", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"top-node\":\"nB\",\"speed\":-1}", "GenericError", "Invalid job ID '1bad'"},
        {"block-stream", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"base\":\"x\",\"base-node\":\"y\"}", "GenericError", "'base' and 'base-node' cannot be specified at the same time"},
        {"block-stream", "{\"device\":\"nosuch\",\"job-id\":\"j\",\"base\":\"x\"}", "GenericError", "Cannot find device='nosuch' nor node-name='nosuch'"},
        {"block-stream", "{\"device\":\"drive0\",\"job-id\":\"j\",\"base-node\":\"drive0\"}", "GenericError", "Node 'drive0' is not a backing image of 'drive0'"},
        {"block-stream", "{\"device\":\"nB\",\"job-id\":\"j\",\"bottom\":\"drive0\"}", "GenericError", "Node 'drive0' is not in a chain starting from 'nB'"},
        {"block-stream", "{\"device\":\"drive0\",\"job-id\":\"j\",\"backing-file\":\"x\"}", "GenericError", "backing file specified, but streaming the entire chain"},
        {"block-stream", "{\"device\":\"drive0\",\"job-id\":\"1bad\",\"backing-file\":\"x\",\"base-node\":\"nA\"}", "GenericError", "Invalid job ID '1bad'"},
    };

    @TempDir
    Path dir;
    private BlockdevChain chain;

    @BeforeEach
    void setUp() {
        chain = new BlockdevChain(dir);
    }

    @AfterEach
    void tearDown() {
        chain.close();
    }

    @Test
    void jobCommandsReportTheErrorQemuReportsFirst() {
        List<String> wrong = new ArrayList<>();
        for (String[] row : QEMU_72) {
            String args = row[1].replace("@", dir + "/");
            CommandException e = chain.error(row[0], args);
            String got = e.errorClass() + " " + e.qmpDesc();
            if (!got.equals(row[2] + " " + row[3])) {
                wrong.add(row[0] + " " + args + "\n    QEMU:   " + row[2] + " " + row[3] + "\n    Strata: " + got);
            }
        }
        assertEquals("", String.join("\n", wrong));
        assertTrue(Files.exists(dir.resolve("T3.qcow2")), "QEMU creates a drive-mirror target before it looks at granularity and sync");
        assertTrue(chain.events.isEmpty(), "no job was started: " + chain.events);
    }

    @Test
    void snapshotOntoTheActiveImageItselfIsTheSameFilenameError() {
        Path d = dir.resolve("D.qcow2");
        DriverRegistry.standard().require("qcow2").create(d, BlockdevChain.SIZE, BlockOptions.empty());
        BlockBackend b = chain.machine.addDrive("virtio0", d, "qcow2");
        String same = "Error: Error: Trying to create an image with the same filename as the backing file\n";
        assertEquals(same, hmp("snapshot_blkdev virtio0 " + d + " qcow2"));
        assertEquals(same, hmp("snapshot_blkdev virtio0 " + d));
        assertEquals("Error: Unknown file format 'nosuchfmt'\n", hmp("snapshot_blkdev virtio0 " + d + " nosuchfmt"));
        assertEquals("Error: Backing file not supported for file format 'raw'\n", hmp("snapshot_blkdev virtio0 " + d + " raw"));
        assertEquals("Error: Failed to get \"write\" lock\nIs another process using the image [" + dir.resolve("C.qcow2") + "]?\n",
                hmp("snapshot_blkdev virtio0 " + dir.resolve("C.qcow2") + " qcow2"));
        assertEquals("Error: Could not create '" + dir.resolve("nodir/x.qcow2") + "': No such file or directory\n",
                hmp("snapshot_blkdev virtio0 " + dir.resolve("nodir/x.qcow2") + " qcow2"));
        CommandException e = chain.error("blockdev-snapshot-sync", "{\"node-name\":\"drive0\",\"snapshot-file\":\""
                + dir.resolve("B.qcow2") + "\",\"snapshot-node-name\":\"new\"}");
        assertEquals("Failed to get \"write\" lock", e.qmpDesc(), "QMP has no hint line");
        assertEquals("New overlay node-name missing",
                chain.error("blockdev-snapshot-sync", "{\"node-name\":\"drive0\",\"snapshot-file\":\"" + d + "\"}").desc());
        assertEquals("New overlay node-name already in use", chain.error("blockdev-snapshot-sync",
                "{\"device\":\"virtio0\",\"snapshot-file\":\"" + d + "\",\"snapshot-node-name\":\"nB\"}").desc());
        assertEquals("Node 'nB' is busy: node is used as backing hd of 'drive0'", chain.error("blockdev-snapshot-sync",
                "{\"node-name\":\"nB\",\"snapshot-file\":\"" + dir.resolve("X.qcow2") + "\",\"snapshot-node-name\":\"x\"}").desc());
        assertEquals(d.toString(), b.root().filename(), "nothing changed");
    }

    private String hmp(String line) {
        return chain.monitor.hmp().executeNow(line);
    }
}
