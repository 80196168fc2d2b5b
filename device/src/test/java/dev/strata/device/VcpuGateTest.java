package dev.strata.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The vCPU gate of {@link VmRunState} and the device drain count of {@link InflightRequests}: a
 * {@code stop} returns only once no guest thread is between its run-state check and its publish,
 * and a drain waits for running requests but not for ones parked until {@code cont}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VcpuGateTest {

    /** Waits until {@code t} blocks (no timing: it polls the thread's state). */
    private static void awaitBlocked(Thread t) throws InterruptedException {
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive(), "thread ended instead of waiting");
            Thread.sleep(1);
        }
    }

    @Test
    void stopWaitsForAnOpenSectionAndAnnouncesOnlyAfterIt() throws Exception {
        VmRunState vm = new VmRunState(RunState.RUNNING);
        List<String> order = new CopyOnWriteArrayList<>();
        vm.addListener((a, b) -> order.add("stop announced"));
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread vcpu = Thread.ofPlatform().start(() -> {
            assertTrue(vm.enterVcpu());
            inside.countDown();
            try {
                leave.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            order.add("published");
            vm.exitVcpu();
        });
        inside.await();
        CompletableFuture<Boolean> stop = new CompletableFuture<>();
        Thread stopper = Thread.ofPlatform().start(() -> stop.complete(vm.stop(RunState.PAUSED)));
        awaitBlocked(stopper);
        assertFalse(stop.isDone(), "stop returned while a vCPU was still inside its section");
        assertFalse(vm.isRunning(), "no new section may open meanwhile");
        leave.countDown();
        assertTrue(stop.get(10, TimeUnit.SECONDS));
        vcpu.join();
        assertEquals(List.of("published", "stop announced"), order);
    }

    @Test
    void aSectionOpenedWhileStoppedWaitsForCont() throws Exception {
        VmRunState vm = new VmRunState(RunState.RUNNING);
        vm.stop(RunState.PAUSED);
        CompletableFuture<Boolean> entered = new CompletableFuture<>();
        Thread vcpu = Thread.ofPlatform().start(() -> {
            entered.complete(vm.enterVcpu());
            vm.exitVcpu();
        });
        awaitBlocked(vcpu);
        assertFalse(entered.isDone());
        vm.cont();
        assertTrue(entered.get(10, TimeUnit.SECONDS));
        vcpu.join();
    }

    @Test
    void aThreadInsideASectionCanStopWithoutWaitingForItself() {
        VmRunState vm = new VmRunState(RunState.RUNNING);
        assertTrue(vm.enterVcpu());
        assertTrue(vm.stop(RunState.IO_ERROR));
        vm.exitVcpu();
        assertEquals(RunState.IO_ERROR, vm.state());
        assertThrows(IllegalStateException.class, vm::exitVcpu, "unbalanced exit is a bug, not a silent no-op");
    }

    @Test
    void shutdownRefusesNewSections() {
        VmRunState vm = new VmRunState(RunState.PRELAUNCH);
        vm.shutdown();
        assertFalse(vm.enterVcpu());
    }

    @Test
    void drainWaitsForRunningRequestsButNotForParkedOnes() throws Exception {
        InflightRequests inflight = new InflightRequests();
        inflight.awaitIdle(); // nothing published: returns at once
        inflight.begin();
        inflight.begin();
        inflight.parked(); // one request waits for cont after werror=stop
        CompletableFuture<Void> drained = new CompletableFuture<>();
        Thread drainer = Thread.ofPlatform().start(() -> {
            inflight.awaitIdle();
            drained.complete(null);
        });
        awaitBlocked(drainer);
        assertFalse(drained.isDone(), "a running request is still outstanding");
        inflight.end();
        drained.get(10, TimeUnit.SECONDS);
        assertEquals(0, inflight.running(), "the parked request is not running");
        inflight.retrying();
        assertEquals(1, inflight.running());
        inflight.end();
        inflight.awaitIdle();
    }
}
