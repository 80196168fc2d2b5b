package dev.strata.device.ring;

/**
 * One preallocated slot of the completion ring: virtio's used-ring element (chain head id and
 * bytes written into device-writable buffers). Written by a request worker, read by the
 * interrupt thread; the ring's sequence barrier orders the two.
 */
final class UsedEntry {
    int id;
    int len;
}
