package dev.strata.device.virtio;

import static dev.strata.device.virtio.Chains.N;
import static dev.strata.device.virtio.Chains.W;
import static dev.strata.device.virtio.Chains.chain;
import static dev.strata.device.virtio.Chains.desc;
import static dev.strata.device.virtio.Chains.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.error.OnError;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import dev.strata.device.DeviceOptions;
import dev.strata.device.GuestMemory;
import dev.strata.device.Peripherals;
import dev.strata.device.RunState;
import dev.strata.device.VmRunState;
import dev.strata.device.ring.AvailRing;
import dev.strata.device.ring.GuestInterrupt;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A live device driven by hand-made (sometimes hostile) chains: it must answer every one and keep working. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioBlkDeviceTest {

    static final long TABLE = 0;
    static final long HDR = 8192;
    static final long DATA = 65536;
    static final long STATUS = 16384;

    @TempDir
    Path dir;
    final BlockGraph graph = new BlockGraph();
    final VmRunState vm = new VmRunState(RunState.RUNNING);
    final GuestMemory m = GuestMemory.allocate(1 << 20);
    final Peripherals devices = new Peripherals(vm, m);
    final BlockingQueue<int[]> used = new LinkedBlockingQueue<>();
    VirtioBlkDevice dev;
    AvailRing ring;

    @BeforeEach
    void setUp() throws Exception {
        Path img = dir.resolve("d.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        BlockBackend b = graph.createBackend("virtio0", graph.open(BlockOptions.parse(
                "driver=fault-injection,file.driver=file,file.filename=" + img, null)), BlockBackend.CacheMode.WRITEBACK);
        dev = devices.createVirtioBlk(DeviceOptions.of(b).withSerial("strata-serial-0123456789").withQueueSize(16)
                .withErrorPolicies(OnError.REPORT, OnError.STOP));
        ring = dev.activate(TABLE, new GuestInterrupt() {
            @Override
            public void used(int id, int len) {
                used.add(new int[] {id, len});
            }

            @Override
            public void interrupt() {
            }
        });
    }

    @AfterEach
    void tearDown() {
        vm.shutdown();
        devices.close();
        graph.closeAll();
    }

    private int[] next() throws InterruptedException {
        int[] u = used.poll(20, TimeUnit.SECONDS);
        assertTrue(u != null, "no completion");
        return u;
    }

    private int submit(int head, int type, long sector, long data, int len, boolean deviceWrites) throws InterruptedException {
        header(m, HDR, type, sector);
        chain(m, TABLE, head, HDR, data, len, deviceWrites, STATUS);
        m.putByte(STATUS, (byte) 0x7f);
        ring.publish(head);
        int[] u = next();
        assertEquals(head, u[0]);
        return m.getByte(STATUS);
    }

    @Test
    void shouldExposeQemuNamesAndConfigSpace() {
        assertEquals("/machine/peripheral-anon/device[0]/virtio-backend", dev.attachedTo());
        assertEquals(dev.attachedTo(), graph.backend("virtio0").attachedTo());
        assertNull(dev.qdevId());
        ByteBuffer cfg = ByteBuffer.wrap(dev.config().toBytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2048, cfg.getLong(VirtioBlkSpec.CFG_CAPACITY));
        assertEquals(14, cfg.getInt(VirtioBlkSpec.CFG_SEG_MAX));
        assertEquals(512, cfg.getInt(VirtioBlkSpec.CFG_BLK_SIZE));
        assertEquals(1, cfg.getShort(VirtioBlkSpec.CFG_NUM_QUEUES));
        assertEquals(VirtioBlkConfig.REQUEST_MAX_SECTORS, cfg.getInt(VirtioBlkSpec.CFG_MAX_DISCARD_SECTORS));
        assertTrue((dev.config().features() & VirtioBlkSpec.F_FLUSH) != 0);
        VirtioBlkDevice named = devices.createVirtioBlk(DeviceOptions.of(graph.createBackend("d1",
                graph.open(BlockOptions.parse("driver=null-co,size=1M", null)), BlockBackend.CacheMode.WRITEBACK)).withId("vd1"));
        assertEquals("/machine/peripheral/vd1/virtio-backend", named.attachedTo());
    }

    @Test
    void shouldReadWriteGetIdDiscardAndWriteZeroes() throws Exception {
        m.fill(DATA, 4096, (byte) 0x42);
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_OUT, 8, DATA, 4096, false));
        m.fill(DATA, 4096, (byte) 0);
        assertEquals(VirtioBlkSpec.S_OK, submit(3, VirtioBlkSpec.T_IN, 8, DATA, 4096, true));
        assertEquals(0x42, m.getByte(DATA + 4095));
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_FLUSH, 0, 0, -1, false));

        assertEquals(VirtioBlkSpec.S_OK, submit(6, VirtioBlkSpec.T_GET_ID, 0, DATA, 20, true));
        byte[] id = new byte[20];
        m.read(DATA, id);
        assertEquals("strata-serial-012345", new String(id, java.nio.charset.StandardCharsets.US_ASCII));

        m.putLong(DATA, 8);
        m.putInt(DATA + 8, 4);
        m.putInt(DATA + 12, 0);
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_WRITE_ZEROES, 0, DATA, 16, false));
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_IN, 8, DATA + 4096, 4096, true));
        assertEquals(0, m.getByte(DATA + 4096), "zeroed");
        assertEquals(0x42, m.getByte(DATA + 4096 + 2048), "beyond the zeroed range");
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_DISCARD, 0, DATA, 16, false));
        var s = dev.stats();
        assertEquals(2, s.rdOperations());
        assertEquals(2, s.wrOperations(), "write-zeroes counts as a write");
        assertEquals(1, s.unmapOperations());
        assertEquals(1, s.flushOperations());
        assertEquals(4096 + 2048, s.wrBytes());
        assertEquals(8 * 512 + 4096, s.wrHighestOffset());
    }

    @Test
    void shouldAnswerHostileChainsAndKeepWorking() throws Exception {
        desc(m, TABLE, 0, HDR, 16, N, 1);                 // a loop: no status can be trusted
        desc(m, TABLE, 1, DATA, 512, N | W, 0);
        ring.publish(0);
        assertEquals(0, next()[1], "refused without a status: used length 0");

        ring.publish(999);                                // not a head of this queue
        int[] u = next();
        assertEquals(999, u[0]);
        assertEquals(0, u[1]);

        assertEquals(VirtioBlkSpec.S_IOERR, submit(0, VirtioBlkSpec.T_IN, 0, (1 << 20) - 100, 4096, true));
        assertEquals(VirtioBlkSpec.S_IOERR, submit(0, VirtioBlkSpec.T_IN, 2047, DATA, 4096, true));
        assertEquals(VirtioBlkSpec.S_UNSUPP, submit(0, 42, 0, DATA, 512, true));
        assertEquals(1, dev.stats().invalidRdOperations());
        assertEquals(5, dev.malformedRequests());
        assertEquals(VirtioBlkSpec.S_OK, submit(0, VirtioBlkSpec.T_IN, 0, DATA, 4096, true), "still works");
    }

    @Test
    void shouldDropAHeadPublishedAgainWhileInFlight() throws Exception {
        FaultInjectionDriver f = (FaultInjectionDriver) graph.backend("virtio0").root().driver();
        f.inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
        header(m, HDR, VirtioBlkSpec.T_OUT, 0);
        chain(m, TABLE, 0, HDR, DATA, 512, false, STATUS);
        ring.publish(0);
        assertTrue(vm.awaitState(RunState.IO_ERROR, 20, TimeUnit.SECONDS));
        ring.publish(0);                                  // the guest does not own head 0 now
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (dev.protocolErrors() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, dev.protocolErrors());
        f.clear();
        vm.cont();
        assertEquals(0, next()[0]);
        assertEquals(VirtioBlkSpec.S_OK, m.getByte(STATUS));
        assertNull(used.poll(200, TimeUnit.MILLISECONDS), "the duplicate was not completed");
    }
}
