package dev.strata.harness.launcher;

import java.util.List;

/**
 * Everything a Strata command line asks for, parsed and checked but not yet opened: the pure
 * output of {@link CommandLineParser}. Nothing here touches the file system.
 *
 * @param monitor     the HMP monitor; {@link Endpoint.Kind#NONE} when there is none
 * @param qmp         the QMP endpoints (each a unix socket server)
 * @param startPaused {@code -S}: the guest's vCPUs stay stopped until {@code cont}
 * @param name        {@code -name}, or null
 * @param objects     {@code -object} values as typed ({@code tls-creds-x509,id=tls0,...}), created before the monitor starts
 */
public record MachineConfig(List<DriveSpec> drives, List<BlockdevSpec> blockdevs, List<DeviceSpec> devices,
                            Endpoint monitor, List<Endpoint> qmp, boolean startPaused, String name,
                            List<GuestSpec> guests, List<String> objects) {

    public MachineConfig {
        objects = List.copyOf(objects);
        drives = List.copyOf(drives);
        blockdevs = List.copyOf(blockdevs);
        devices = List.copyOf(devices);
        qmp = List.copyOf(qmp);
        guests = List.copyOf(guests);
    }
}
