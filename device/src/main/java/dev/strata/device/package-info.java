/**
 * Guest disks: guest memory, the run state, and the device models a guest driver talks to.
 *
 * <pre>
 *  guest vCPU threads                    device                                   blockdrv
 *  ------------------                    ------                                   --------
 *  build chain in GuestMemory
 *  AvailRing.publish(head) ──▶ [avail ring] ──▶ iothread: BlkRequestParser.parse ──┐
 *                                                (pure; refusals become a status)  │ HeadWorkers:
 *                                                                                  ▼ one virtual thread per head
 *                                                          BlkExecutor ──▶ BlockBackend.read/write/flush/...
 *                                                  (rerror/werror via IoErrorHandler: report | ignore |
 *                                                   stop ─▶ VmRunState.stop(IO_ERROR), wait for cont, retry)
 *  GuestInterrupt.used(id,len)... ◀── [used ring] ◀── status byte written, head completed
 *  GuestInterrupt.interrupt()  (once per batch: endOfBatch)
 * </pre>
 *
 * {@link dev.strata.device.Peripherals} builds devices with QEMU's QOM paths;
 * {@link dev.strata.device.BlockDevice} is what the monitor sees (names, backend, statistics,
 * I/O status); {@link dev.strata.device.DeviceEventListener} receives BLOCK_IO_ERROR.
 */
package dev.strata.device;
