package dev.strata.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VmRunStateTest {

    @Test
    void shouldStopContAndNotifyOnlyRealChanges() {
        VmRunState vm = new VmRunState(RunState.RUNNING);
        List<String> seen = new CopyOnWriteArrayList<>();
        vm.addListener((a, b) -> seen.add(a.qapiName() + ">" + b.qapiName()));
        assertTrue(vm.stop(RunState.PAUSED));
        assertFalse(vm.stop(RunState.IO_ERROR), "a stopped machine keeps its first reason");
        assertEquals(RunState.PAUSED, vm.state());
        assertEquals("VM status: paused", vm.state().hmpStatusLine());
        assertTrue(vm.cont());
        assertFalse(vm.cont());
        assertEquals(List.of("running>paused", "paused>running"), seen);
        vm.stop(RunState.IO_ERROR);
        assertEquals("VM status: paused (io-error)", vm.state().hmpStatusLine());
    }

    @Test
    void shouldStartInPrelaunchForDashS() {
        VmRunState vm = new VmRunState(RunState.PRELAUNCH);
        assertFalse(vm.stop(RunState.PAUSED), "stop in prelaunch stays prelaunch, as QEMU");
        assertEquals(RunState.PRELAUNCH, vm.state());
        assertEquals("VM status: paused (prelaunch)", vm.state().hmpStatusLine());
        assertTrue(vm.cont());
        assertTrue(vm.isRunning());
    }

    @Test
    void shouldHoldWaitersWhileStoppedAndReleaseThemOnContOrShutdown() throws Exception {
        VmRunState vm = new VmRunState(RunState.RUNNING);
        List<String> order = new CopyOnWriteArrayList<>();
        vm.addResumeHook(() -> order.add("hook"));
        vm.addListener((a, b) -> order.add("listener"));
        vm.stop(RunState.PAUSED);
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(vm::awaitRunning);
        Thread.sleep(100);
        assertFalse(waiter.isDone());
        vm.cont();
        assertTrue(waiter.get(10, TimeUnit.SECONDS));
        assertEquals(List.of("listener", "hook", "listener"), order, "resume hooks run before the machine runs");

        vm.stop(RunState.PAUSED);
        CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(vm::awaitRunning);
        vm.shutdown();
        assertFalse(second.get(10, TimeUnit.SECONDS));
        assertFalse(vm.cont(), "nothing runs after shutdown");
        assertFalse(vm.awaitRunning());
    }
}
