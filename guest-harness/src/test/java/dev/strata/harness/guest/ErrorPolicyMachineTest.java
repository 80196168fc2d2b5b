package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.ErrorAction;
import dev.strata.blockdrv.error.IoOperation;
import dev.strata.blockdrv.error.IoStatus;
import dev.strata.blockdrv.error.OnError;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import dev.strata.device.BlockDevice;
import dev.strata.device.DeviceEventListener;
import dev.strata.device.RunState;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** rerror/werror on a fault-injection filter: each policy, on virtio-blk and IDE. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ErrorPolicyMachineTest {

    record Event(String drive, String node, IoOperation op, ErrorAction action, boolean nospace, String reason) {
    }

    @TempDir
    Path dir;
    Path img;
    final List<Event> events = new CopyOnWriteArrayList<>();
    final DeviceEventListener listener = (BlockDevice d, String node, IoOperation op, ErrorAction a, boolean nospace,
                                          String reason) -> events.add(new Event(d.driveId(), node, op, a, nospace, reason));

    @BeforeEach
    void image() throws Exception {
        img = dir.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(4 << 20);
        }
    }

    private GuestDisk disk(TestMachine m, boolean ide, String rerror, String werror) {
        m.devices.addEventListener(listener);
        String opts = "driver=fault-injection,node-name=fi,file.driver=file,file.filename=" + img;
        return ide ? m.ide("ide0-hd0", opts, o -> o.withErrorPolicies(OnError.parseDriveOption(rerror, true), OnError.parseDriveOption(werror, false)))
                : m.virtio("virtio0", opts, o -> o.withErrorPolicies(OnError.parseDriveOption(rerror, true), OnError.parseDriveOption(werror, false)));
    }

    private static FaultInjectionDriver fault(TestMachine m, String drive) {
        return (FaultInjectionDriver) m.graph.backend(drive).root().driver();
    }

    private static GuestBuffer buffer(TestMachine m, byte fill) {
        GuestBuffer b = m.guest.allocator().allocate(4096, 4096);
        m.memory.fill(b.address(), b.length(), fill);
        return b;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void reportFailsTheRequestAndRaisesOneEvent(boolean ide) {
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = disk(m, ide, "report", "report");
            fault(m, d.driveId()).inject(FaultRule.everywhere(FaultRule.Op.READ, BlockException.Kind.IO));
            assertEquals(IoResult.IOERR, d.read(0, buffer(m, (byte) 0)));
            assertEquals(List.of(new Event(d.driveId(), "fi", IoOperation.READ, ErrorAction.REPORT, false, "Input/output error")), events);
            BlockDevice dev = m.devices.byDrive(d.driveId());
            assertEquals(1, dev.stats().failedRdOperations());
            assertEquals(IoStatus.OK, dev.ioStatus());
            assertEquals(RunState.RUNNING, m.vm.state());
            fault(m, d.driveId()).clear();
            assertEquals(IoResult.OK, d.read(0, buffer(m, (byte) 0)));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void ignoreCompletesTheRequestAsIfItWorked(boolean ide) {
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = disk(m, ide, "report", "ignore");
            fault(m, d.driveId()).inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
            assertEquals(IoResult.OK, d.write(0, buffer(m, (byte) 7)));
            assertEquals(1, events.size());
            assertEquals(ErrorAction.IGNORE, events.get(0).action());
            assertEquals(IoOperation.WRITE, events.get(0).op());
            assertEquals(0, m.devices.byDrive(d.driveId()).stats().failedWrOperations());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stopPausesTheMachineAndRetriesTheRequestOnCont(boolean ide) throws Exception {
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = disk(m, ide, "report", "stop");
            fault(m, d.driveId()).inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
            GuestBuffer data = buffer(m, (byte) 0x5a);
            CompletableFuture<IoResult> write = CompletableFuture.supplyAsync(() -> d.write(8192, data));
            assertTrue(m.vm.awaitState(RunState.IO_ERROR, 20, TimeUnit.SECONDS), "machine stopped on the error");
            BlockDevice dev = m.devices.byDrive(d.driveId());
            assertEquals(IoStatus.FAILED, dev.ioStatus());
            assertEquals(ErrorAction.STOP, events.get(0).action());
            assertFalse(events.get(0).nospace());
            Thread.sleep(200);
            assertFalse(write.isDone(), "the request waits for cont");
            // a vCPU does not issue new requests while stopped
            CompletableFuture<IoResult> later = CompletableFuture.supplyAsync(() -> d.read(0, buffer(m, (byte) 0)));
            Thread.sleep(100);
            assertFalse(later.isDone());

            fault(m, d.driveId()).clear();
            assertTrue(m.vm.cont());
            assertEquals(IoResult.OK, write.get(20, TimeUnit.SECONDS));
            assertEquals(IoResult.OK, later.get(20, TimeUnit.SECONDS));
            assertEquals(IoStatus.OK, dev.ioStatus(), "cont resets the I/O status");
            assertEquals(RunState.RUNNING, m.vm.state());
            GuestBuffer back = buffer(m, (byte) 0);
            assertEquals(IoResult.OK, d.read(8192, back));
            assertEquals((byte) 0x5a, m.memory.getByte(back.address() + 100), "the retried write landed");
        }
    }

    @Test
    void enospcStopsOnlyForNoSpace() throws Exception {
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = disk(m, false, "report", "enospc");
            FaultInjectionDriver f = fault(m, d.driveId());
            f.inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            assertEquals(IoResult.IOERR, d.write(0, buffer(m, (byte) 1)));
            assertEquals(ErrorAction.REPORT, events.get(0).action());

            f.inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.NO_SPACE, 1));
            CompletableFuture<IoResult> write = CompletableFuture.supplyAsync(() -> d.write(0, buffer(m, (byte) 2)));
            assertTrue(m.vm.awaitState(RunState.IO_ERROR, 20, TimeUnit.SECONDS));
            assertEquals(IoStatus.NOSPACE, m.devices.byDrive("virtio0").ioStatus());
            Event e = events.get(1);
            assertEquals(ErrorAction.STOP, e.action());
            assertTrue(e.nospace());
            assertEquals("No space left on device", e.reason());
            m.vm.cont(); // the rule fired once: the retry succeeds
            assertEquals(IoResult.OK, write.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void rerrorStopAppliesToReadsAndFlushFallsUnderWerror() throws Exception {
        try (TestMachine m = new TestMachine()) {
            GuestDisk d = disk(m, false, "stop", "report");
            FaultInjectionDriver f = fault(m, d.driveId());
            f.inject(new FaultRule(FaultRule.Op.FLUSH, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            assertEquals(IoResult.IOERR, d.flush());
            assertEquals(IoOperation.WRITE, events.get(0).op());
            assertEquals(1, m.devices.byDrive("virtio0").stats().failedFlushOperations());

            f.inject(new FaultRule(FaultRule.Op.READ, 0, Long.MAX_VALUE, BlockException.Kind.IO, 1));
            CompletableFuture<IoResult> read = CompletableFuture.supplyAsync(() -> d.read(0, buffer(m, (byte) 0)));
            assertTrue(m.vm.awaitState(RunState.IO_ERROR, 20, TimeUnit.SECONDS));
            assertEquals(IoOperation.READ, events.get(1).op());
            m.vm.cont();
            assertEquals(IoResult.OK, read.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void shutdownWhileStoppedFailsTheWaitingRequestInsteadOfHanging() throws Exception {
        TestMachine m = new TestMachine();
        GuestDisk d = disk(m, false, "report", "stop");
        fault(m, d.driveId()).inject(FaultRule.everywhere(FaultRule.Op.WRITE, BlockException.Kind.IO));
        CompletableFuture<IoResult> write = CompletableFuture.supplyAsync(() -> d.write(0, buffer(m, (byte) 1)));
        assertTrue(m.vm.awaitState(RunState.IO_ERROR, 20, TimeUnit.SECONDS));
        m.vm.shutdown();
        IoResult r = write.get(20, TimeUnit.SECONDS);
        assertTrue(r == IoResult.IOERR || r == IoResult.ABORTED, "got " + r);
        m.close();
    }
}
