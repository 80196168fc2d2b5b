package dev.strata.monitor;

/** The QMP error classes Strata reports, spelled as QEMU's {@code QapiErrorClass} names them on the wire. */
public enum ErrorClass {
    GenericError,
    CommandNotFound,
    DeviceNotFound,
    DeviceNotActive
}
