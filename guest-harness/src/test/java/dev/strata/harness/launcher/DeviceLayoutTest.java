package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceLayoutTest {

    @Test
    void explicitDevicesComeFirstThenDriveDevicesAsQemuMakesThem() {
        // the resulting "Attached to" paths are checked on real devices in MachineBuilderTest
        // observed on QEMU 7.2: -drive if=virtio, -device virtio-blk-pci (anonymous), -drive if=ide, -device ide-hd,id=myide
        MachineConfig c = new CommandLineParser().parse(Arrays.asList("-drive", "file=q1,if=virtio",
                "-drive", "file=q2,if=none,id=d2", "-device", "virtio-blk-pci,drive=d2", "-drive", "file=q3,if=ide",
                "-drive", "file=q4,if=none,id=d4", "-device", "ide-hd,drive=d4,id=myide",
                "-drive", "file=q5,if=none,id=d5", "-device", "virtio-blk,drive=d5,id=vd5"));
        List<String> order = DeviceLayout.plan(c).stream()
                .map(p -> p.drive() + " " + (p.virtio() ? "virtio" : "ide") + (p.fromDrive() ? " onboard" : "") + " " + p.qdevId()).toList();
        assertEquals(List.of("d2 virtio null", "d4 ide myide", "d5 virtio vd5", "virtio0 virtio onboard null",
                "ide0-hd0 ide onboard null"), order);
    }
}
