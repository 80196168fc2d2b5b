package dev.strata.monitor.nbd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.DriverRegistry;
import dev.strata.blockdrv.nbd.NbdExport;
import dev.strata.blockdrv.nbd.NbdListenAddress;
import dev.strata.blockdrv.nbd.tls.UserObjects;
import dev.strata.monitor.EventBus;
import dev.strata.monitor.TestMachine;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What {@code block-export-add} builds behind the command: the export's own backend and its cache mode. */
@Timeout(60)
class NbdServiceTest {

    @TempDir
    Path dir;

    @Test
    void writethroughTurnsTheExportBackendsWriteCacheOffAsQemuDoes() {
        TestMachine machine = new TestMachine(dir);
        DriverRegistry.standard().require("qcow2").create(dir.resolve("d0.qcow2"), 1 << 20, BlockOptions.empty());
        BlockBackend drive = machine.addDrive("virtio0", dir.resolve("d0.qcow2"), "qcow2");
        NbdService nbd = new NbdService(machine.graph(), new UserObjects(), new EventBus());
        try {
            nbd.start(NbdListenAddress.unix(dir.resolve("nbd.sock")), null, null, 0);
            nbd.add(new NbdService.ExportRequest("wt", "virtio0", "wt", null, true, true, List.of(), false));
            nbd.add(new NbdService.ExportRequest("wb", "virtio0", "wb", null, true, false, List.of(), false));
            NbdExport wt = nbd.export("wt");
            NbdExport wb = nbd.export("wb");
            assertFalse(wt.backend().writeCacheEnabled(), "writethrough=true: the backend flushes every write itself");
            assertTrue(wt.writethrough());
            assertTrue(wb.backend().writeCacheEnabled(), "the default is write-back, as QEMU's");
            assertTrue(drive.writeCacheEnabled(), "the guest's own backend is not touched");
        } finally {
            nbd.stop();
            machine.graph().closeAll();
        }
    }
}
