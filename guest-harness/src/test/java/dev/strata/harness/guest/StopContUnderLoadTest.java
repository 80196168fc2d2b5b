package dev.strata.harness.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.error.OnError;
import dev.strata.blockdrv.fault.FaultInjectionDriver;
import dev.strata.blockdrv.fault.FaultRule;
import dev.strata.device.RunState;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing is lost across stops: a verifying workload on virtio-blk (werror=stop) and IDE at once,
 * write errors injected now and then, the machine stopped by the errors and by the user and
 * continued again and again. Every failed request is retried after cont, so the guest sees no
 * error and the final pass finds every acknowledged write.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StopContUnderLoadTest {

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingAcrossErrorStopsAndUserStops() throws Exception {
        Path a = dir.resolve("a.raw");
        Path b = dir.resolve("b.raw");
        for (Path p : new Path[] {a, b}) {
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(8 << 20);
            }
        }
        try (TestMachine m = new TestMachine()) {
            m.virtio("virtio0", "driver=fault-injection,file.driver=file,file.filename=" + a,
                    o -> o.withErrorPolicies(OnError.STOP, OnError.STOP));
            m.ide("ide0-hd0", "file=" + b + ",format=raw", o -> o);
            AtomicInteger errorStops = new AtomicInteger();
            AtomicInteger userStops = new AtomicInteger();
            AtomicBoolean done = new AtomicBoolean();
            Thread operator = Thread.ofPlatform().start(() -> {
                FaultInjectionDriver f = (FaultInjectionDriver) m.graph.backend("virtio0").root().driver();
                // a fixed number of rounds, however slow the machine: the workloads run until they end
                for (int round = 0; round < 8; round++) {
                    try {
                        Thread.sleep(150);
                        if (round % 2 == 0) {
                            f.inject(new FaultRule(FaultRule.Op.WRITE, 0, Long.MAX_VALUE, BlockException.Kind.IO, 2));
                            if (m.vm.awaitState(RunState.IO_ERROR, 2, TimeUnit.SECONDS)) {
                                errorStops.incrementAndGet();
                            }
                        } else if (m.vm.stop(RunState.PAUSED)) {
                            userStops.incrementAndGet();
                            Thread.sleep(50);
                        }
                        f.clear();
                        m.vm.cont();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                done.set(true);
            });
            Workload v = m.guest.start(WorkloadSpec.parse("drive=virtio0,rw=randrw,bs=4k,iodepth=16,verify=on,fsync=50"));
            Workload i = m.guest.start(WorkloadSpec.parse("drive=ide0-hd0,rw=randrw,bs=16k,iodepth=2,verify=on"));
            operator.join(90_000);
            assertTrue(done.get(), "the operator finished its rounds");
            m.vm.cont();
            assertTrue(m.guest.stopWorkloads(Duration.ofSeconds(30)));
            System.out.println(v.result().format());
            System.out.println(i.result().format());
            System.out.println("error stops " + errorStops + ", user stops " + userStops);
            assertTrue(errorStops.get() >= 1 && userStops.get() >= 1, "the machine was really stopped");
            assertEquals(0, v.result().errors(), "stopped requests were retried, not failed");
            assertEquals(0, i.result().errors());
            for (VerifyReport r : m.guest.verifyAll()) {
                System.out.println(r.describe());
                assertTrue(r.ok(), r.describe());
            }
        }
    }
}
