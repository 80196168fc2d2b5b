package dev.strata.device.ring;

/**
 * One preallocated slot of the request ring: the head index of a descriptor chain the guest made
 * available (virtio's available ring entry). Written by the publishing guest thread between
 * claim and publish, read by the iothread after; the ring's sequence barrier orders the two.
 */
final class AvailEntry {
    int head;
}
