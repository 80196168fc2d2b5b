package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceLayoutTest {

    @Test
    void explicitDevicesComeFirstThenDriveDevicesAsQemuMakesThem() {
        // observed on QEMU 7.2: -drive if=virtio, -device virtio-blk-pci (anonymous), -drive if=ide, -device ide-hd,id=myide
        MachineConfig c = new CommandLineParser().parse(Arrays.asList("-drive", "file=q1,if=virtio",
                "-drive", "file=q2,if=none,id=d2", "-device", "virtio-blk-pci,drive=d2", "-drive", "file=q3,if=ide",
                "-drive", "file=q4,if=none,id=d4", "-device", "ide-hd,drive=d4,id=myide",
                "-drive", "file=q5,if=none,id=d5", "-device", "virtio-blk,drive=d5,id=vd5"));
        List<String> paths = DeviceLayout.plan(c).stream().map(p -> p.drive() + " " + p.qomPath()).toList();
        assertEquals(List.of("d2 /machine/peripheral-anon/device[0]/virtio-backend", "d4 myide",
                "d5 /machine/peripheral/vd5/virtio-backend", "virtio0 /machine/peripheral-anon/device[1]/virtio-backend",
                "ide0-hd0 /machine/unattached/device[18]"), paths);
    }
}
